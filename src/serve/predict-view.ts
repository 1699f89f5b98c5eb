import {isStage, type Stage} from '../registry/schema.js'
import type {PredictResult} from './client.js'

/**
 * `morpho predict --json`: the same keys whoever answered (the registry, a server, an exported
 * file), in the CLI's convention — camelCase, the version a number. The HTTP answer of /predict
 * keeps the original's own names; this is the command's view of it.
 */
export interface PredictView {
  /** null when the answer did not say (an exported file without its name). */
  model: string | null
  version: number | null
  stage: Stage | null
  /** Each row's class label. */
  predictions: (number | string)[]
  /** Each row's probability per class, in the order of `classes`. */
  probabilities: number[][]
  /** The class labels in the order of `probabilities`; null when the answer does not list them (an exported file without morpho's metadata, an older server). */
  classes: (number | string)[] | null
  inferenceTimeMs: number
  source: PredictResult['source']
  /** The server asked (--url), else null. */
  url: string | null
  /** predict --model-file: the file and the runtime that ran it, else null. */
  modelFile: {path: string; format: 'onnx' | 'tfjs'; runtime: string} | null
}

export function predictView(result: PredictResult, url: string | null): PredictView {
  const version = Number.parseInt(result.model_version, 10)
  return {
    model: result.model_name ?? null,
    version: Number.isSafeInteger(version) ? version : null,
    stage: isStage(result.model_stage) ? result.model_stage : null,
    predictions: result.predictions,
    probabilities: result.probabilities,
    classes: result.classes ?? null,
    inferenceTimeMs: result.inference_time_ms,
    source: result.source,
    url,
    modelFile: result.model_file ?? null,
  }
}
