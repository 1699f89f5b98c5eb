import {join} from 'node:path'
import {integrityError, isMorphoError} from '../errors.js'
import {assertNotLink, type ModelFiles, readStoreFile, replaceTree} from '../store/files.js'
import {isSafeId} from '../store/paths.js'
import {
  MODEL_FILE,
  MODEL_FORMAT,
  MODEL_FORMAT_VERSION,
  type ModelFile,
  WEIGHTS_FILE,
  type WeightSpec,
} from './model-file.js'

/**
 * model.json + weights.bin in the TF.js weights format: the weights are the float32 values
 * of each spec, little-endian, concatenated in manifest order. Reading needs no TF.js, so
 * a model can be loaded (and served by the pure-JS path) without it.
 */

/** What a caller saves: the model file's own fields, and the weights themselves. */
export type ModelContent = Pick<
  ModelFile,
  'architecture' | 'seeds' | 'scaler' | 'classes' | 'features' | 'problem' | 'runId'
> & {
  weights: {spec: WeightSpec; values: Float32Array}[]
}

export interface LoadedModel {
  file: ModelFile
  weights: Map<string, {shape: number[]; values: Float32Array}>
}

/** The model as files in memory: model.json and weights.bin, ready for any store. */
export function encodeModel(content: ModelContent): {file: ModelFile; files: ModelFiles} {
  const file: ModelFile = {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    architecture: content.architecture,
    seeds: content.seeds,
    scaler: content.scaler,
    classes: content.classes,
    ...(content.features ? {features: content.features} : {}),
    problem: content.problem,
    ...(content.runId ? {runId: content.runId} : {}),
    createdAt: new Date().toISOString(),
    weightsManifest: [{paths: [WEIGHTS_FILE], weights: content.weights.map((w) => w.spec)}],
  }
  const total = content.weights.reduce((n, w) => n + w.values.length, 0)
  const bytes = new Uint8Array(total * 4)
  const view = new DataView(bytes.buffer)
  let offset = 0
  for (const w of content.weights) {
    for (let i = 0; i < w.values.length; i++, offset += 4) view.setFloat32(offset, w.values[i], true)
  }
  const files: ModelFiles = new Map([
    [MODEL_FILE, Buffer.from(`${JSON.stringify(file, null, 2)}\n`)],
    [WEIGHTS_FILE, bytes],
  ])
  return {file, files}
}

/** Writes the model into `dir` (created fresh): a folder beside it, then one rename. */
export async function saveModel(dir: string, content: ModelContent): Promise<ModelFile> {
  const {file, files} = encodeModel(content)
  await replaceTree(dir, files)
  return file
}

export async function loadModelFiles(dir: string): Promise<LoadedModel> {
  const modelPath = join(dir, MODEL_FILE)
  const files: ModelFiles = new Map()
  await assertNotLink(dir)
  try {
    files.set(MODEL_FILE, await readStoreFile(modelPath))
  } catch (err) {
    if (isMorphoError(err) || (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const file = parseModelFile(files, modelPath)
  files.set(file.weightsManifest[0].paths[0], await readStoreFile(join(dir, file.weightsManifest[0].paths[0])))
  return decodeModel(files, dir)
}

/** A model from its files in memory (a run's or a verified version's); `where` names it in errors. */
export function decodeModel(files: ModelFiles, where: string): LoadedModel {
  const file = parseModelFile(files, `${where}/${MODEL_FILE}`)
  const weightsName = file.weightsManifest[0].paths[0]
  const bytes = files.get(weightsName)
  if (!bytes) {
    throw integrityError(`Missing weights file ${where}/${weightsName}`, {
      hint: 'The model is incomplete; train or register it again.',
    })
  }
  return {file, weights: decodeWeights(file, bytes, where)}
}

function parseModelFile(files: ModelFiles, modelPath: string): ModelFile {
  const text = files.get(MODEL_FILE)
  if (!text) {
    throw integrityError(`Missing model file ${modelPath}`, {
      hint: 'The model folder is incomplete; train or register it again.',
    })
  }
  let file: ModelFile
  try {
    file = JSON.parse(Buffer.from(text).toString('utf8')) as ModelFile
  } catch (err) {
    throw integrityError(`Unreadable model file ${modelPath}`, {hint: 'The file is not valid JSON.', cause: err})
  }
  checkModelFile(file, modelPath)
  return file
}

export function decodeWeights(
  file: ModelFile,
  bytes: Uint8Array,
  where: string,
): Map<string, {shape: number[]; values: Float32Array}> {
  const specs = file.weightsManifest.flatMap((g) => g.weights)
  const expected = specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0) * 4
  if (bytes.byteLength !== expected) {
    throw integrityError(`Weights in ${where} are ${bytes.byteLength} bytes; the manifest expects ${expected}`, {
      hint: 'The model is truncated or does not belong to this model.json.',
    })
  }
  // Copy into an aligned buffer: a Buffer slice may start at an odd offset.
  const aligned = new Uint8Array(bytes.byteLength)
  aligned.set(bytes)
  const view = new DataView(aligned.buffer)
  const out = new Map<string, {shape: number[]; values: Float32Array}>()
  let offset = 0
  for (const spec of specs) {
    const size = spec.shape.reduce((a, b) => a * b, 1)
    const values = new Float32Array(size)
    for (let i = 0; i < size; i++, offset += 4) values[i] = view.getFloat32(offset, true)
    out.set(spec.name, {shape: spec.shape, values})
  }
  return out
}

function checkModelFile(file: ModelFile, path: string): void {
  if (file?.format !== MODEL_FORMAT) {
    throw integrityError(`${path} is not a morpho model`, {hint: 'Point at a folder written by `morpho train`.'})
  }
  if (file.formatVersion > MODEL_FORMAT_VERSION) {
    throw integrityError(
      `${path} has model format ${file.formatVersion}; this morpho reads up to ${MODEL_FORMAT_VERSION}`,
      {
        hint: 'Upgrade morpho.',
      },
    )
  }
  const a = file.architecture
  const ok =
    a &&
    [a.inputDim, a.hiddenDim, a.numLayers, a.seedsPerLayer, a.numClasses].every((n) => Number.isInteger(n) && n >= 0) &&
    Array.isArray(file.seeds) &&
    file.scaler?.mean?.length === a.inputDim &&
    file.scaler?.std?.length === a.inputDim &&
    file.classes?.length === a.numClasses &&
    wellFormedLabels(file.classes) &&
    file.weightsManifest?.[0]?.paths?.length === 1 &&
    // The weights sit beside model.json: a path elsewhere would read any file.
    isSafeId(String(file.weightsManifest[0].paths[0]))
  if (!ok) throw integrityError(`${path} is malformed`, {hint: 'The model file was edited or written by another tool.'})
}

/** Class labels are all finite numbers or all distinct strings: one label per output index. */
function wellFormedLabels(classes: unknown[]): boolean {
  const numbers = classes.every((c) => typeof c === 'number' && Number.isFinite(c))
  const strings = classes.every((c) => typeof c === 'string')
  return (numbers || strings) && new Set(classes).size === classes.length
}
