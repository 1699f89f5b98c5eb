import {isMorphoError} from '../errors.js'
import type {ModelFiles} from '../store/files.js'
import {createJsPredictor, type Predictor} from './predictor.js'
import {decodeModel, type LoadedModel} from './serialize.js'

/**
 * Why a model's files could not be served, or undefined when they can: they decode, every
 * weight is a finite number, and a test prediction (one zero row, in plain JavaScript, so no
 * TF.js is needed) gives finite probabilities that sum to 1. Registering a run and promoting a
 * version to Staging or Production require it, so a model that cannot load never reaches the
 * registry, nor a stage a server follows; `morpho serve` runs the same test prediction when it
 * loads a version (and compares TF.js with JavaScript on top). `where` names the files in the
 * reason ("runs/<id>/model").
 */
export function whyUnservable(files: ModelFiles, where: string): string | undefined {
  let loaded: LoadedModel
  try {
    loaded = decodeModel(files, where)
  } catch (err) {
    if (!isMorphoError(err)) throw err
    return err.hint ? `${err.message} (${err.hint.replace(/\.$/, '')})` : err.message
  }
  for (const [name, {values}] of loaded.weights) {
    const at = values.findIndex((v) => !Number.isFinite(v))
    if (at >= 0) return `weight ${name}[${at}] in ${where} is ${values[at]}`
  }
  try {
    testPrediction(createJsPredictor(loaded))
  } catch (err) {
    return (err as Error).message
  }
  return undefined
}

/**
 * Probabilities for a zero row, which must be finite and sum to 1; returned for comparison with
 * another implementation. Throws a plain Error saying what was wrong.
 */
export function testPrediction(p: Predictor): Float32Array {
  const k = p.architecture.numClasses
  const out = p.predictProba(new Float32Array(p.architecture.inputDim), 1)
  let sum = 0
  for (let j = 0; j < k; j++) {
    if (!Number.isFinite(out[j]!)) throw new Error(`test prediction (${p.kind}) gave a non-finite probability`)
    sum += out[j]!
  }
  if (out.length !== k || Math.abs(sum - 1) > 1e-3) {
    throw new Error(`test prediction (${p.kind}) gave probabilities summing to ${sum}, not 1`)
  }
  return out
}
