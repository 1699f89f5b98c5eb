import {asMorphoError, MorphoError} from '../errors.js'
import type {InferenceMetrics, ReloadTrigger} from '../monitoring/inference-metrics.js'
import {type ResolvedModel, resolveModel, type Stage, type VersionRef, verifiedFiles} from '../registry/index.js'
import type {Store} from '../store/store.js'
import type {ForwardOptions} from './forward.js'
import type {ServeLogger} from './log.js'
import type {RegistryCache} from './registry-cache.js'
import {loadSnapshot, type ModelSnapshot, type SnapshotOptions} from './snapshot.js'
import {VersionCache} from './version-cache.js'

/**
 * The model being served, as an immutable snapshot (snapshot.ts), and the way it changes.
 *
 * A reload resolves, verifies (sha256 of every file), loads and test-predicts the new version
 * beside the old one and then swaps one reference; the old snapshot is retired and its tensors
 * are freed once its last request has released it. A failed reload changes nothing. Requests
 * that name another version (`model_version`) get it from the version cache. What makes the
 * server reload on its own (--watch) is the watch policy in watch.ts.
 */

/** What the server follows: a stage of a model (default Production), or a version or alias. */
export interface ModelTarget {
  model?: string
  version?: VersionRef
  stage?: Stage
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

/** A registry entry that failed to load: the watcher leaves it alone until the entry changes. */
export interface FailedLoad {
  model: string
  version: number
  manifest: string
}

export interface ModelHolderOptions {
  store: Store
  registry: RegistryCache
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

export class ModelHolder {
  readonly target: ModelTarget
  readonly registry: RegistryCache
  readonly logger: ServeLogger
  private currentSnapshot: ModelSnapshot | undefined
  private readonly options: ModelHolderOptions
  private readonly snapshotOptions: SnapshotOptions
  private readonly versions: VersionCache
  private chain: Promise<unknown> = Promise.resolve()
  private queued: Promise<ReloadOutcome> | undefined
  private closed = false
  /** The last version whose reload failed, until one succeeds. */
  lastFailedLoad: FailedLoad | undefined
  lastReload: (ReloadOutcome & {trigger: ReloadTrigger; at: string}) | undefined

  constructor(options: ModelHolderOptions) {
    this.options = options
    this.target = options.target
    this.registry = options.registry
    this.logger = options.logger
    this.snapshotOptions = {
      forward: options.forward,
      metrics: options.metrics,
      microBatching: options.microBatching,
      maxPassRows: options.maxPassRows,
    }
    this.versions = new VersionCache({
      store: options.store,
      registry: options.registry,
      snapshot: this.snapshotOptions,
      logger: options.logger,
      size: options.versionCacheSize,
      served: () => ({current: this.currentSnapshot, model: this.modelName}),
    })
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
   * A registered version other than the current one, for `model_version`, acquired: loaded on
   * first use, verified, and cached.
   */
  acquireVersion(text: string): Promise<ModelSnapshot> {
    return this.versions.acquire(text)
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

  /** A promotion of the version being served shows in /health, /models and inference_model_info. */
  updateStage(snapshot: ModelSnapshot, stage: Stage): void {
    if (snapshot.stage === stage) return
    const was = snapshot.stage
    snapshot.stage = stage
    if (snapshot === this.currentSnapshot) {
      this.options.metrics.setModel({model: snapshot.name, version: String(snapshot.version), stage})
      this.logger.info(`${snapshot.label} is now ${stage} (was ${was})`)
    }
  }

  /** Retires every snapshot; each is freed when its last request is done. */
  close(): void {
    this.closed = true
    this.currentSnapshot?.retire()
    this.currentSnapshot = undefined
    this.versions.close()
  }

  private async runReload(trigger: ReloadTrigger): Promise<ReloadOutcome> {
    const {metrics, logger, target} = this.options
    const started = performance.now()
    const previous = this.currentSnapshot
    const seconds = () => (performance.now() - started) / 1000
    let resolved: ResolvedModel | undefined
    try {
      // Resolved first and verified second, so that a failure knows which version it was about.
      resolved = await resolveModel(this.options.store, {
        model: target.model ?? previous?.name,
        version: target.version,
        stage: target.version === undefined ? (target.stage ?? 'Production') : undefined,
        verify: false,
      })
      resolved.files = (await verifiedFiles(this.options.store, resolved.name, resolved.entry)).files
      const version = resolved.entry.version
      if (previous && previous.name === resolved.name && previous.version === version) {
        this.updateStage(previous, resolved.entry.stage)
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
      const snapshot = await loadSnapshot(resolved, this.snapshotOptions)
      if (this.closed) {
        snapshot.retire()
        throw new MorphoError('INTERNAL', 'the server is stopping')
      }
      this.currentSnapshot = snapshot
      previous?.retire()
      // A copy loaded earlier for model_version requests is now the current one.
      this.versions.evict(snapshot.name, snapshot.version)
      this.lastFailedLoad = undefined
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
      if (resolved) {
        const {name, entry} = resolved
        this.lastFailedLoad = {model: name, version: entry.version, manifest: entry.manifestSha256}
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
}
