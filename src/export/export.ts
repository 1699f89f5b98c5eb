import {join, resolve} from 'node:path'
import type {BackendRequest} from '../config.js'
import {stopIfInterrupted, usageError} from '../errors.js'
import type {Store} from '../store/store.js'
import {writeArchive} from './archive.js'
import {type ExportMeta, liveSeeds} from './meta.js'
import {buildOnnx, ONNX_OPSET} from './onnx.js'
import {placeOutput, type WrittenFile, writeSynced} from './output.js'
import {resolveSource} from './source.js'
import {buildTfjs, TFJS_MODEL_FILE, TFJS_WEIGHTS_FILE} from './tfjs.js'
import {TRITON_LABELS_FILE, tritonConfig, tritonLabels} from './triton.js'

/** `morpho export`: a registered version (or a run's model) in a format other runtimes read. */

export const EXPORT_FORMATS = ['onnx', 'tfjs', 'triton', 'archive'] as const
export type ExportFormat = (typeof EXPORT_FORMATS)[number]

export const ONNX_FILE = 'model.onnx'

export interface ExportOptions {
  /** MODEL, MODEL@VERSION|ALIAS|STAGE, or a run id. */
  ref: string
  format: ExportFormat
  out: string
  force?: boolean
  morphoVersion: string
  /** TF.js backend for the tfjs format (it builds the model with TF.js). */
  backend?: BackendRequest
  /** Aborting stops the export before anything is renamed into --out (the staging copy is removed). */
  signal?: AbortSignal
}

export interface ExportResult {
  format: ExportFormat
  model: string
  /** null for a run's model. */
  version: number | null
  runId: string | null
  source: 'registry' | 'run'
  /** Absolute path of what was written. */
  out: string
  /** Every file written, relative to out, with its size and sha256. */
  files: WrittenFile[]
  /** The seeds the export computes, with the alpha they are exported at (dormant and training ones add nothing). */
  liveSeeds: {id: string; state: string; alpha: number}[]
  /** ONNX operator set of the graph (onnx and triton). */
  opset?: number
}

export async function exportModel(store: Store, options: ExportOptions): Promise<ExportResult> {
  if (!(EXPORT_FORMATS as readonly string[]).includes(options.format)) {
    throw usageError(`Unknown export format "${options.format}"`, {hint: `Use one of: ${EXPORT_FORMATS.join(', ')}.`})
  }
  const source = await resolveSource(store, options.ref)
  if (options.format === 'archive' && source.kind !== 'registry') {
    throw usageError(`an archive holds a registered version; ${options.ref} is a run`, {
      hint: `Register it first (morpho register ${options.ref}), then export MODEL@VERSION --format archive.`,
    })
  }
  const meta: ExportMeta = {
    model: source.model,
    version: source.version,
    runId: source.runId,
    morphoVersion: options.morphoVersion,
  }
  const {loaded} = source
  // Built before anything is written: a model that cannot be converted leaves no trace.
  const onnx = options.format === 'onnx' || options.format === 'triton' ? await buildOnnx(loaded, meta) : undefined
  const tfjs =
    options.format === 'tfjs'
      ? await (async () => {
          const {loadTf} = await import('../tf/backend.js')
          const {tf} = await loadTf(options.backend)
          return buildTfjs(tf, loaded, meta)
        })()
      : undefined
  const interrupted = () =>
    stopIfInterrupted(options.signal, `Export interrupted; nothing was written to ${resolve(options.out)}`)
  interrupted()
  const files = await placeOutput(options.out, options.force ?? false, async (staging) => {
    if (options.format === 'onnx') await writeSynced(staging, onnx!)
    if (options.format === 'tfjs') {
      await writeSynced(join(staging, TFJS_WEIGHTS_FILE), tfjs!.weights)
      await writeSynced(join(staging, TFJS_MODEL_FILE), `${JSON.stringify(tfjs!.modelJson)}\n`)
    }
    if (options.format === 'triton') {
      await writeSynced(join(staging, source.model, String(source.version ?? 1), ONNX_FILE), onnx!)
      await writeSynced(
        join(staging, source.model, 'config.pbtxt'),
        tritonConfig(source.model, loaded.file.architecture, loaded.file.classes),
      )
      await writeSynced(join(staging, source.model, TRITON_LABELS_FILE), tritonLabels(loaded.file.classes))
    }
    if (options.format === 'archive') await writeArchive(store, source, staging, options.morphoVersion)
    interrupted()
  })
  return {
    format: options.format,
    model: source.model,
    version: source.version,
    runId: source.runId,
    source: source.kind,
    out: resolve(options.out),
    files,
    liveSeeds: liveSeeds(loaded).map(({id, state, alpha}) => ({id, state, alpha})),
    ...(onnx ? {opset: ONNX_OPSET} : {}),
  }
}
