import {readFile, stat} from 'node:fs/promises'
import {basename, dirname, join, resolve} from 'node:path'
import {resolveBackend} from '../config.js'
import {invalidData, MorphoError, notFound} from '../errors.js'
import type {ClassLabel} from '../model/model-file.js'
import type {PredictResult} from '../serve/client.js'
import {answerRows, checkRows} from '../serve/predict.js'
import {INPUT_NAME, PREDICTIONS_NAME, PROBABILITIES_NAME} from './meta.js'
import {decodeOnnx, type OnnxModel} from './onnx-proto.js'
import {loadOnnxRuntime} from './onnx-runtime.js'
import {TFJS_MODEL_FILE} from './tfjs.js'

/**
 * `morpho predict --model-file PATH`: rows through an exported model, by the runtime that model
 * is for — ONNX Runtime for a .onnx file, TF.js (tf.loadLayersModel) for a LayersModel's
 * model.json — so an export can be checked by hand against `morpho predict` from the registry.
 */

export async function predictFromFile(path: string, rows: unknown): Promise<PredictResult> {
  const file = await locate(path)
  return file.endsWith('.json') ? predictTfjs(file, rows) : predictOnnx(file, rows)
}

/** A file as given; a folder: its model.json (TF.js) or model.onnx. */
async function locate(path: string): Promise<string> {
  const full = resolve(path)
  const info = await stat(full).catch(() => undefined)
  if (!info)
    throw notFound(`--model-file ${full} does not exist`, {
      hint: 'Give an exported model.onnx, or the model.json of a TF.js export.',
    })
  if (info.isFile()) return full
  for (const name of [TFJS_MODEL_FILE, 'model.onnx']) {
    if (
      await stat(join(full, name)).then(
        (s) => s.isFile(),
        () => false,
      )
    )
      return join(full, name)
  }
  throw notFound(`--model-file ${full} is a folder without model.json or model.onnx`, {
    hint: 'Point at the file morpho export wrote (model.onnx, or the model.json of a tfjs export).',
  })
}

async function predictOnnx(file: string, rows: unknown): Promise<PredictResult> {
  const bytes = await readFile(file)
  let model: OnnxModel
  try {
    model = await decodeOnnx(bytes)
    if (!model.graph?.input?.length) throw new Error('it has no graph inputs')
  } catch (err) {
    throw invalidData(`${file} is not an ONNX model (${(err as Error).message})`, {
      hint: 'Give a model.onnx written by morpho export --format onnx (or any ONNX classifier with one [N, features] float input).',
    })
  }
  const props = Object.fromEntries((model.metadataProps ?? []).map((p) => [p.key, p.value]))
  const input = model.graph.input.find((i) => i.name === INPUT_NAME) ?? model.graph.input[0]!
  const features = Number(input.type?.tensorType?.shape?.dim?.[1]?.dimValue)
  const label = props.model_name
    ? `${props.model_name}${props.model_version ? ` v${props.model_version}` : ''}`
    : basename(file)
  const ort = loadOnnxRuntime()
  let session: Awaited<ReturnType<typeof ort.InferenceSession.create>>
  try {
    session = await ort.InferenceSession.create(bytes)
  } catch (err) {
    throw invalidData(`ONNX Runtime cannot load ${file}: ${(err as Error).message}`)
  }
  try {
    const x = checkRows(rows, Number.isInteger(features) && features > 0 ? features : rowWidth(rows), label)
    const started = performance.now()
    const out = await session.run({[input.name]: new ort.Tensor('float32', x.rows, [x.n, x.rows.length / x.n])})
    const ms = performance.now() - started
    const probs = out[PROBABILITIES_NAME] ?? out[session.outputNames[0]!]!
    const k = probs.dims[1] ?? 1
    const labels = out[PREDICTIONS_NAME]
    const listed = props.classes ? JSON.parse(props.classes) : undefined
    const classes = classesOf(listed, k, file)
    const answer = answerRows(probs.data as Float32Array, x.n, classes, label)
    // The graph's own labels, when it gives them: what a Triton or ONNX Runtime user reads
    // (int64 as numbers; a string tensor's labels as they are).
    if (labels) {
      answer.predictions =
        labels.type === 'string'
          ? Array.from(labels.data as string[])
          : Array.from(labels.data as BigInt64Array, (v) => Number(v))
    }
    return {
      ...answer,
      ...(listed === undefined ? {} : {classes}),
      model_version: props.model_version ?? '',
      ...(props.model_name ? {model_name: props.model_name} : {}),
      inference_time_ms: Math.round(ms * 1000) / 1000,
      source: 'file',
      model_file: {path: file, format: 'onnx', runtime: `onnxruntime-node ${ort.env.versions?.common ?? ''}`.trim()},
    }
  } finally {
    await session.release()
  }
}

async function predictTfjs(file: string, rows: unknown): Promise<PredictResult> {
  let json: {
    format?: string
    modelTopology?: unknown
    weightsManifest?: {paths: string[]; weights: unknown[]}[]
    userDefinedMetadata?: {morpho?: Record<string, unknown>}
  }
  try {
    json = JSON.parse(await readFile(file, 'utf8'))
  } catch (err) {
    throw invalidData(`${file} is not JSON (${(err as Error).message})`)
  }
  if (json?.format !== 'layers-model' || !json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw invalidData(
      `${file} is not a TF.js LayersModel (format "layers-model" with a modelTopology and weightsManifest)`,
      {
        hint: 'Give the model.json written by morpho export --format tfjs.',
      },
    )
  }
  const {loadTf} = await import('../tf/backend.js')
  const {tf, backend} = await loadTf(resolveBackend(undefined))
  const dir = dirname(file)
  let model: import('@tensorflow/tfjs').LayersModel
  try {
    model = await tf.loadLayersModel({
      load: () =>
        tf.io.getModelArtifactsForJSON(json as never, async (manifest) => {
          const specs = manifest.flatMap((g) => g.weights)
          const parts = await Promise.all(
            manifest.flatMap((g) => g.paths.map((p) => readFile(join(dir, ...p.split('/'))))),
          )
          return [
            specs,
            tf.io.concatenateArrayBuffers(parts.map((b) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength))),
          ]
        }),
    })
  } catch (err) {
    throw invalidData(`TF.js cannot load ${file}: ${(err as Error).message}`)
  }
  try {
    const morpho = json.userDefinedMetadata?.morpho ?? {}
    const name = typeof morpho.model_name === 'string' ? morpho.model_name : undefined
    const version = typeof morpho.model_version === 'string' ? morpho.model_version : ''
    const label = name ? `${name}${version ? ` v${version}` : ''}` : basename(dir)
    const features = model.inputs[0]!.shape[1]
    const x = checkRows(rows, typeof features === 'number' ? features : rowWidth(rows), label)
    const started = performance.now()
    const probs = tf.tidy(
      () =>
        (
          model.predict(tf.tensor2d(x.rows, [x.n, x.rows.length / x.n])) as import('@tensorflow/tfjs').Tensor
        ).dataSync() as Float32Array,
    )
    const ms = performance.now() - started
    const k = probs.length / x.n
    const classes = classesOf(morpho.classes, k, file)
    return {
      ...answerRows(probs, x.n, classes, label),
      ...(morpho.classes === undefined ? {} : {classes}),
      model_version: version,
      ...(name ? {model_name: name} : {}),
      inference_time_ms: Math.round(ms * 1000) / 1000,
      source: 'file',
      model_file: {path: file, format: 'tfjs', runtime: `TensorFlow.js ${tf.version_core} (${backend.name})`},
    }
  } finally {
    model.dispose()
  }
}

/**
 * The labels an export's metadata lists (numbers, or a text-label model's strings), checked
 * against the k probabilities it gives; 0 … k-1 when it lists none.
 */
function classesOf(listed: unknown, k: number, file: string): ClassLabel[] {
  if (listed === undefined) return Array.from({length: k}, (_, i) => i)
  const labels =
    Array.isArray(listed) && listed.every((c) => typeof c === 'number' || typeof c === 'string')
      ? (listed as ClassLabel[])
      : undefined
  if (labels?.length !== k) {
    throw new MorphoError(
      'INVALID_DATA',
      `${file} lists ${labels ? `${labels.length} classes` : 'malformed classes'} but gives ${k} probabilities`,
    )
  }
  return labels
}

/** For a model that does not say its width: the first row's. */
function rowWidth(rows: unknown): number {
  return Array.isArray(rows) && Array.isArray(rows[0]) ? rows[0].length : 0
}
