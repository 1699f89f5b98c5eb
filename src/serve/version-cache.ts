import {asMorphoError, MorphoError} from '../errors.js'
import {parseVersionRef, resolveModel, resolveVersion, selectModel} from '../registry/index.js'
import type {Store} from '../store/store.js'
import type {ServeLogger} from './log.js'
import type {RegistryCache} from './registry-cache.js'
import {loadSnapshot, type ModelSnapshot, type SnapshotOptions} from './snapshot.js'

/**
 * The registered versions other than the current one that requests name with `model_version`:
 * loaded on first use, verified, and kept in a small least-recently-used cache. Concurrent
 * requests for a version that is loading share the load; a version that failed to load is
 * refused without another try for a while (each try reads and hashes its files).
 */

export interface VersionCacheOptions {
  store: Store
  registry: RegistryCache
  snapshot: SnapshotOptions
  logger: ServeLogger
  /** Versions kept loaded besides the current one (default 4). */
  size?: number
  /** The snapshot being served and the model the server answers for, at the time of asking. */
  served(): {current: ModelSnapshot | undefined; model: string | undefined}
}

/** How long a version that failed to load is refused without another try. */
export const FAILED_VERSION_TTL_MS = 10_000

export class VersionCache {
  private readonly options: VersionCacheOptions
  private readonly loaded = new Map<string, ModelSnapshot>()
  private readonly loading = new Map<string, Promise<ModelSnapshot>>()
  private readonly failed = new Map<string, {error: MorphoError; at: number}>()
  private closed = false

  constructor(options: VersionCacheOptions) {
    this.options = options
  }

  /** The version `text` names ("3", "v3", an alias), acquired: give it back with release(). */
  async acquire(text: string): Promise<ModelSnapshot> {
    const ref = parseVersionRef(text)
    for (let attempt = 0; attempt < 3; attempt++) {
      const {current, model} = this.options.served()
      // Version numbers are immutable: a number needs no registry look-up when it is loaded.
      if (typeof ref === 'number' && model !== undefined) {
        const hit = this.lookup(model, ref, current)
        if (hit) return hit
      }
      const doc = await this.options.registry.read()
      const record = selectModel(doc, model)
      const entry = resolveVersion(record, ref)
      const hit = this.lookup(record.name, entry.version, this.options.served().current)
      if (hit) return hit
      const snapshot = await this.load(record.name, entry.version)
      if (!snapshot.isRetired) return snapshot.acquire()
      // Evicted between its load and this request's turn: look again.
    }
    throw new MorphoError('INTERNAL', `version ${text} was unloaded while loading; try again`)
  }

  /** Drops a cached copy (a version that became the current one is held there instead). */
  evict(name: string, version: number): void {
    this.drop(cacheKey(name, version))
  }

  /** Retires every cached version; each is freed when its last request is done. */
  close(): void {
    this.closed = true
    for (const key of [...this.loaded.keys()]) this.drop(key)
  }

  private lookup(name: string, version: number, current: ModelSnapshot | undefined): ModelSnapshot | undefined {
    if (current && current.name === name && current.version === version) return current.acquire()
    const key = cacheKey(name, version)
    const cached = this.loaded.get(key)
    if (!cached) return undefined
    // Most recently used last.
    this.loaded.delete(key)
    this.loaded.set(key, cached)
    return cached.acquire()
  }

  private load(name: string, version: number): Promise<ModelSnapshot> {
    const key = cacheKey(name, version)
    const failed = this.failed.get(key)
    if (failed && performance.now() - failed.at < FAILED_VERSION_TTL_MS) return Promise.reject(failed.error)
    let pending = this.loading.get(key)
    if (pending) return pending
    const {metrics} = this.options.snapshot
    const {logger} = this.options
    const started = performance.now()
    pending = resolveModel(this.options.store, {model: name, version})
      .then((resolved) => loadSnapshot(resolved, this.options.snapshot))
      .then(
        (snapshot) => {
          metrics.loadDuration.observe((performance.now() - started) / 1000)
          this.failed.delete(key)
          if (this.closed) snapshot.retire()
          else this.put(key, snapshot)
          logger.info(`loaded ${snapshot.label} for model_version requests`)
          return snapshot
        },
        (err: unknown) => {
          metrics.loadDuration.observe((performance.now() - started) / 1000)
          const error = asMorphoError(err)
          this.failed.set(key, {error, at: performance.now()})
          logger.warn(`could not load ${name} v${version} for a request: ${error.message}`)
          throw error
        },
      )
      .finally(() => this.loading.delete(key))
    this.loading.set(key, pending)
    return pending
  }

  private put(key: string, snapshot: ModelSnapshot): void {
    this.loaded.set(key, snapshot)
    const limit = this.options.size ?? 4
    while (this.loaded.size > limit) this.drop(this.loaded.keys().next().value!)
  }

  private drop(key: string): void {
    const snapshot = this.loaded.get(key)
    if (!snapshot) return
    this.loaded.delete(key)
    snapshot.retire()
  }
}

function cacheKey(name: string, version: number): string {
  return `${name}\u0000${version}`
}
