import {isMorphoError, MorphoError} from '../errors.js'
import {type LoadedModel, loadModelFiles} from '../model/serialize.js'
import type {InferenceMetrics, ReloadTrigger} from '../monitoring/inference-metrics.js'
import {
  parseVersionRef,
  type ResolvedModel,
  resolveModel,
  resolveVersion,
  type Stage,
  selectModel,
  stageHolder,
  type VersionEntry,
  type VersionRef,
  type VersionView,
  verifyVersion,
} from '../registry/index.js'
import type {StorePaths} from '../store/paths.js'
import {MicroBatcher} from './batcher.js'
import {buildForward, type Forward, type ForwardOptions} from './forward.js'
import type {ServeLogger} from './log.js'
import type {RegistryView} from './registry-view.js'

/**
 * The model being served, as an immutable snapshot, and the way it changes.
 *
 * A request takes the current snapshot when it starts (acquire) and gives it back when its
 * prediction is done (release), so it finishes on the model it started with whatever happens
 * meanwhile. A reload resolves, verifies (sha256 of every file), loads and test-predicts the new
 * version beside the old one and then swaps one reference; the old snapshot is retired and its
 * tensors are freed once its last request has released it. A failed reload changes nothing.
 */

/** What the server follows: a stage of a model (default Production), or a version or alias. */
export interface ModelTarget {
  model?: string
  version?: VersionRef
  stage?: Stage
}

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
  readonly dir: string
  readonly entry: VersionView
  readonly forward: Forward
  readonly batcher: MicroBatcher
  readonly problem: string
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

  get classes(): number[] {
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

export type ReloadOutcome =
  | {
      ok: true
      changed: boolean
      model: string
      version: number
      stage: Stage
      previous?: number
      seconds: number
    }
  | {
      ok: false
      error: MorphoError
      /** Still serving this, if anything. */
      serving?: {model: string; version: number}
      seconds: number
    }

export interface ModelHolderOptions {
  paths: StorePaths
  registry: RegistryView
  target: ModelTarget
  forward: ForwardOptions
  metrics: InferenceMetrics
  logger: ServeLogger
  microBatching: boolean
  /** Rows per forward pass at most when requests are stacked (default 1024). */
  maxPassRows?: number
  /** Other versions kept loaded for `model_version` requests (default 4). */
  versionCacheSize?: number
}

/** A version that failed to load is not tried again for this long (each try reads and hashes files). */
const FAILED_VERSION_TTL_MS = 10_000

export class ModelHolder {
  private currentSnapshot: ModelSnapshot | undefined
  private readonly options: ModelHolderOptions
  private readonly cache = new Map<string, ModelSnapshot>()
  private readonly loading = new Map<string, Promise<ModelSnapshot>>()
  private readonly failed = new Map<string, {error: MorphoError; at: number}>()
  private chain: Promise<unknown> = Promise.resolve()
  private queued: Promise<ReloadOutcome> | undefined
  private lastWatchNote = ''
  private watchFailedAt: {model: string; version: number; manifest: string} | undefined
  private closed = false
  lastReload: (ReloadOutcome & {trigger: ReloadTrigger; at: string}) | undefined

  constructor(options: ModelHolderOptions) {
    this.options = options
  }

  get current(): ModelSnapshot | undefined {
    return this.currentSnapshot
  }

  /** The current snapshot, held for one request; give it back with release(). */
  acquire(): ModelSnapshot | undefined {
    return this.currentSnapshot?.acquire()
  }

  /** The model this server answers for: the one loaded, else the one it was told to serve. */
  get modelName(): string | undefined {
    return this.currentSnapshot?.name ?? this.options.target.model
  }

  /**
   * Loads what the target names now and swaps it in. Calls that arrive while a reload is
   * waiting to start share it; one that arrives while a reload runs gets the next one, which
   * reads the registry again, so no promotion is missed.
   */
  reload(trigger: ReloadTrigger): Promise<ReloadOutcome> {
    if (this.queued) return this.queued
    const next: Promise<ReloadOutcome> = this.chain.then(() => {
      if (this.queued === next) this.queued = undefined
      return this.runReload(trigger)
    })
    this.queued = next
    this.chain = next.catch(() => undefined)
    return next
  }

  private async runReload(trigger: ReloadTrigger): Promise<ReloadOutcome> {
    const {metrics, logger, target} = this.options
    const started = performance.now()
    const previous = this.currentSnapshot
    const seconds = () => (performance.now() - started) / 1000
    let resolved: ResolvedModel | undefined
    try {
      // Resolved first and verified second, so that a failure knows which version it was about.
      resolved = await resolveModel(this.options.paths, {
        model: target.model ?? previous?.name,
        version: target.version,
        stage: target.version === undefined ? (target.stage ?? 'Production') : undefined,
        verify: false,
      })
      await verifyVersion(resolved.dir, {
        label: `${resolved.name} v${resolved.entry.version}`,
        manifestSha256: resolved.entry.manifestSha256,
      })
      const version = resolved.entry.version
      if (previous && previous.name === resolved.name && previous.version === version) {
        this.noteStage(previous, resolved.entry.stage)
        metrics.loadDuration.observe(seconds())
        metrics.recordReload('success', trigger)
        logger.info(`reload (${trigger}): already serving ${previous.label}; its files verified`)
        return this.remember(trigger, {
          ok: true,
          changed: false,
          model: resolved.name,
          version,
          stage: resolved.entry.stage,
          previous: version,
          seconds: seconds(),
        })
      }
      const snapshot = await this.build(resolved)
      if (this.closed) {
        snapshot.retire()
        throw new MorphoError('INTERNAL', 'the server is stopping')
      }
      this.currentSnapshot = snapshot
      previous?.retire()
      // A copy loaded earlier for model_version requests is now the current one.
      this.evict(cacheKey(snapshot.name, snapshot.version))
      this.watchFailedAt = undefined
      metrics.setModel({model: snapshot.name, version: String(snapshot.version), stage: snapshot.stage})
      metrics.loadDuration.observe(seconds())
      metrics.recordReload('success', trigger)
      const ms = Math.round(seconds() * 1000)
      if (previous) {
        const from = previous.name === snapshot.name ? `v${previous.version}` : previous.label
        logger.info(
          `reloaded ${snapshot.name} ${from} → v${snapshot.version} (${snapshot.stage}, ${trigger}, ${ms} ms; forward: ${snapshot.forward.description})`,
        )
      } else {
        logger.info(
          `loaded ${snapshot.label} (${snapshot.stage}, ${trigger}, ${ms} ms; forward: ${snapshot.forward.description})`,
        )
      }
      return this.remember(trigger, {
        ok: true,
        changed: true,
        model: snapshot.name,
        version: snapshot.version,
        stage: snapshot.stage,
        previous: previous?.version,
        seconds: seconds(),
      })
    } catch (err) {
      const error = asMorphoError(err)
      // The watcher leaves a version that failed alone until the registry names another one.
      if (resolved) {
        const {name, entry} = resolved
        this.watchFailedAt = {model: name, version: entry.version, manifest: entry.manifestSha256}
      }
      const still = previous ? `still serving ${previous.label}` : 'no model loaded'
      // Nothing to load at start-up is a state the server waits in, not a failed load.
      const nothingYet = trigger === 'startup' && error.code === 'NOT_FOUND' && target.version === undefined
      if (nothingYet) {
        logger.warn(`no model to serve yet: ${error.message}; /predict answers 503 until one is loaded`)
      } else {
        metrics.loadDuration.observe(seconds())
        metrics.recordReload('failure', trigger)
        logger.warn(`reload failed (${trigger}): ${error.message}; ${still}`)
      }
      return this.remember(trigger, {
        ok: false,
        error,
        serving: previous ? {model: previous.name, version: previous.version} : undefined,
        seconds: seconds(),
      })
    }
  }

  private remember(trigger: ReloadTrigger, outcome: ReloadOutcome): ReloadOutcome {
    this.lastReload = {...outcome, trigger, at: new Date().toISOString()}
    return outcome
  }

  private async build(resolved: ResolvedModel): Promise<ModelSnapshot> {
    const loaded = await loadModelFiles(resolved.dir)
    let forward: Forward
    try {
      forward = await buildForward(loaded, this.options.forward)
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
    const {metrics} = this.options
    const batcher = new MicroBatcher(forward, {
      enabled: this.options.microBatching,
      maxPassRows: this.options.maxPassRows ?? 1024,
      onPass(rows, seconds) {
        metrics.predictionDuration.observe(seconds)
        metrics.batchRows.observe(rows)
        metrics.rowsPredicted.inc(rows)
      },
    })
    return new ModelSnapshot(resolved, loaded, forward, batcher)
  }

  /**
   * A registered version other than the current one, for `model_version`: loaded on first use,
   * verified, and kept in a small least-recently-used cache. Returned acquired.
   */
  async acquireVersion(text: string): Promise<ModelSnapshot> {
    const ref = parseVersionRef(text)
    for (let attempt = 0; attempt < 3; attempt++) {
      const current = this.currentSnapshot
      const name = this.modelName
      // Version numbers are immutable: a number needs no registry look-up when it is loaded.
      if (typeof ref === 'number' && name !== undefined) {
        const hit = this.lookup(name, ref, current)
        if (hit) return hit
      }
      const doc = await this.options.registry.read()
      const model = selectModel(doc, name)
      const entry = resolveVersion(model, ref)
      const hit = this.lookup(model.name, entry.version, this.currentSnapshot)
      if (hit) return hit
      const snapshot = await this.loadVersion(model.name, entry.version)
      if (!snapshot.isRetired) return snapshot.acquire()
      // Evicted between its load and this request's turn: look again.
    }
    throw new MorphoError('INTERNAL', `version ${text} was unloaded while loading; try again`)
  }

  private lookup(name: string, version: number, current: ModelSnapshot | undefined): ModelSnapshot | undefined {
    if (current && current.name === name && current.version === version) return current.acquire()
    const key = cacheKey(name, version)
    const cached = this.cache.get(key)
    if (!cached) return undefined
    // Most recently used last.
    this.cache.delete(key)
    this.cache.set(key, cached)
    return cached.acquire()
  }

  private loadVersion(name: string, version: number): Promise<ModelSnapshot> {
    const key = cacheKey(name, version)
    const failed = this.failed.get(key)
    if (failed && performance.now() - failed.at < FAILED_VERSION_TTL_MS) return Promise.reject(failed.error)
    let pending = this.loading.get(key)
    if (!pending) {
      const started = performance.now()
      pending = resolveModel(this.options.paths, {model: name, version})
        .then((resolved) => this.build(resolved))
        .then(
          (snapshot) => {
            this.options.metrics.loadDuration.observe((performance.now() - started) / 1000)
            this.failed.delete(key)
            if (this.closed) snapshot.retire()
            else this.cachePut(key, snapshot)
            this.options.logger.info(`loaded ${snapshot.label} for model_version requests`)
            return snapshot
          },
          (err: unknown) => {
            this.options.metrics.loadDuration.observe((performance.now() - started) / 1000)
            const error = asMorphoError(err)
            this.failed.set(key, {error, at: performance.now()})
            this.options.logger.warn(`could not load ${name} v${version} for a request: ${error.message}`)
            throw error
          },
        )
        .finally(() => this.loading.delete(key))
      this.loading.set(key, pending)
    }
    return pending
  }

  private cachePut(key: string, snapshot: ModelSnapshot): void {
    this.cache.set(key, snapshot)
    const limit = this.options.versionCacheSize ?? 4
    while (this.cache.size > limit) this.evict(this.cache.keys().next().value!)
  }

  private evict(key: string): void {
    const snapshot = this.cache.get(key)
    if (!snapshot) return
    this.cache.delete(key)
    snapshot.retire()
  }

  /**
   * For --watch: reload when the version the target names in the registry is not the one
   * being served. A version that failed is not retried until its registry entry changes; a
   * target that names nothing (no Production version any more) keeps the current model.
   */
  async syncWithRegistry(): Promise<ReloadOutcome | undefined> {
    const {target} = this.options
    let entry: VersionEntry | undefined
    let name: string
    try {
      const doc = await this.options.registry.read()
      const model = selectModel(doc, this.modelName)
      name = model.name
      entry =
        target.version !== undefined
          ? resolveVersion(model, target.version)
          : stageHolder(model, target.stage ?? 'Production')
      if (!entry) throw new MorphoError('NOT_FOUND', `${model.name} has no ${target.stage ?? 'Production'} version`)
    } catch (err) {
      const error = asMorphoError(err)
      const still = this.currentSnapshot ? `still serving ${this.currentSnapshot.label}` : 'no model loaded'
      this.noteOnce(`watch: ${error.message}; ${still}`)
      return undefined
    }
    this.lastWatchNote = ''
    const current = this.currentSnapshot
    if (current && current.name === name && current.version === entry.version) {
      this.noteStage(current, entry.stage)
      return undefined
    }
    const failed = this.watchFailedAt
    if (
      failed &&
      failed.model === name &&
      failed.version === entry.version &&
      failed.manifest === entry.manifestSha256
    ) {
      return undefined
    }
    return this.reload('watch')
  }

  /** A promotion of the version being served shows in /health, /models and inference_model_info. */
  private noteStage(snapshot: ModelSnapshot, stage: Stage): void {
    if (snapshot.stage === stage) return
    const was = snapshot.stage
    snapshot.stage = stage
    if (snapshot === this.currentSnapshot) {
      this.options.metrics.setModel({model: snapshot.name, version: String(snapshot.version), stage})
      this.options.logger.info(`${snapshot.label} is now ${stage} (was ${was})`)
    }
  }

  private noteOnce(message: string): void {
    if (message === this.lastWatchNote) return
    this.lastWatchNote = message
    this.options.logger.warn(message)
  }

  /** Retires every snapshot; each is freed when its last request is done. */
  close(): void {
    this.closed = true
    this.currentSnapshot?.retire()
    this.currentSnapshot = undefined
    for (const key of [...this.cache.keys()]) this.evict(key)
  }
}

function cacheKey(name: string, version: number): string {
  return `${name}\u0000${version}`
}

function asMorphoError(err: unknown): MorphoError {
  if (isMorphoError(err)) return err
  return new MorphoError('INTERNAL', (err as Error)?.message ?? String(err), {cause: err})
}
