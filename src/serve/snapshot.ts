import {MorphoError} from '../errors.js'
import {type ClassLabels, featureNames} from '../model/model-file.js'
import {decodeModel, type LoadedModel} from '../model/serialize.js'
import type {InferenceMetrics} from '../monitoring/inference-metrics.js'
import type {ResolvedModel, Stage, VersionView} from '../registry/index.js'
import {MicroBatcher} from './batcher.js'
import {buildForward, type Forward, type ForwardOptions} from './forward.js'

/**
 * One loaded model version, immutable but for its stage. A request takes it when it starts
 * (acquire) and gives it back when its prediction is done (release), so it finishes on the model
 * it started with whatever happens meanwhile; a retired snapshot frees its tensors once its last
 * holder has released it.
 */
export class ModelSnapshot {
  readonly name: string
  readonly version: number
  /**
   * The version's stage: as it was at load, then as the registry last said on a reload or,
   * with --watch, on any registry change.
   */
  stage: Stage
  readonly loadedAt: string
  readonly runId: string
  /** The version's folder in a folder store; null for a database store (see VersionView.dir). */
  readonly dir: string | null
  readonly entry: VersionView
  readonly forward: Forward
  readonly batcher: MicroBatcher
  readonly problem: string
  /** The model's feature names: its CSV header's, else x1 … xN (as the exports name them). */
  readonly featureNames: string[]
  /** Each class label as JSON, and the list of them: what /predict writes, made once. */
  readonly labelsJson: string[]
  readonly classesJson: string
  private refs = 0
  private retired = false
  private disposed = false

  constructor(resolved: ResolvedModel, loaded: LoadedModel, forward: Forward, batcher: MicroBatcher) {
    this.name = resolved.name
    this.version = resolved.entry.version
    this.stage = resolved.entry.stage
    this.loadedAt = new Date().toISOString()
    this.runId = resolved.entry.runId
    this.dir = resolved.dir
    this.entry = resolved.entry
    this.problem = loaded.file.problem
    this.featureNames = featureNames(loaded.file)
    this.labelsJson = loaded.file.classes.map((c) => JSON.stringify(c))
    this.classesJson = `[${this.labelsJson.join(',')}]`
    this.forward = forward
    this.batcher = batcher
  }

  /** "spirals v3" */
  get label(): string {
    return `${this.name} v${this.version}`
  }

  get inputDim(): number {
    return this.forward.inputDim
  }

  get classes(): ClassLabels {
    return this.forward.classes
  }

  /** The forward pass, for code that predicts synchronously outside a request (a page drawing it). */
  get predictor(): Forward {
    return this.forward
  }

  get isRetired(): boolean {
    return this.retired
  }

  acquire(): this {
    this.refs++
    return this
  }

  release(): void {
    this.refs--
    if (this.refs === 0 && this.retired) this.dispose()
  }

  /** No new requests will get this snapshot; its tensors go when the last one holding it is done. */
  retire(): void {
    this.retired = true
    if (this.refs === 0) this.dispose()
  }

  private dispose(): void {
    if (this.disposed) return
    this.disposed = true
    this.forward.dispose()
  }
}

export interface SnapshotOptions {
  forward: ForwardOptions
  metrics: InferenceMetrics
  microBatching: boolean
  /** Rows per forward pass at most when requests are stacked (default 1024). */
  maxPassRows?: number
}

/**
 * Loads a resolved version's files, builds its forward pass (which test-predicts a zero row)
 * and its batcher. Files that match their checksums but do not predict are the model's fault,
 * not the store's: that is an INTEGRITY error with its own hint.
 */
export async function loadSnapshot(resolved: ResolvedModel, options: SnapshotOptions): Promise<ModelSnapshot> {
  if (!resolved.files) throw new MorphoError('INTERNAL', `${resolved.name} v${resolved.entry.version} was not verified`)
  const loaded = decodeModel(resolved.files, `${resolved.name} v${resolved.entry.version}`)
  let forward: Forward
  try {
    forward = await buildForward(loaded, options.forward)
  } catch (err) {
    throw new MorphoError(
      'INTEGRITY',
      `${resolved.name} v${resolved.entry.version} failed its test prediction: ${(err as Error).message}`,
      {
        hint: 'The files match their checksums, so the model itself is broken; register another version.',
        cause: err,
      },
    )
  }
  const {metrics} = options
  const batcher = new MicroBatcher(forward, {
    enabled: options.microBatching,
    maxPassRows: options.maxPassRows ?? 1024,
    onPass(rows, seconds) {
      metrics.predictionDuration.observe(seconds)
      metrics.batchRows.observe(rows)
      metrics.rowsPredicted.inc(rows)
    },
  })
  return new ModelSnapshot(resolved, loaded, forward, batcher)
}
