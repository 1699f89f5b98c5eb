import {type FSWatcher, watch} from 'node:fs'
import {basename, dirname} from 'node:path'
import {asMorphoError, MorphoError} from '../errors.js'
import {resolveVersion, selectModel, stageHolder, type VersionEntry} from '../registry/index.js'
import {oneAtATime} from '../serial.js'
import type {ModelHolder, ReloadOutcome} from './model-holder.js'

/**
 * --watch in two parts: a change source says when the registry may have changed (here,
 * registry.json on disk), and the watch policy decides what that means for the server (reload,
 * note a new stage, or nothing). Another source (a database's notifications, say) calls the
 * same policy.
 */

/**
 * What the watcher does on a change: reload when the version the target names in the registry
 * is not the one being served. A version that failed is not retried until its registry entry
 * changes; a target that names nothing (no Production version any more) keeps the current
 * model; a promotion of the version being served only updates its stage. Each problem is
 * logged once, not on every poll.
 */
export class WatchPolicy {
  private readonly holder: ModelHolder
  private lastNote = ''

  constructor(holder: ModelHolder) {
    this.holder = holder
  }

  async sync(): Promise<ReloadOutcome | undefined> {
    const {holder} = this
    const {target} = holder
    let entry: VersionEntry | undefined
    let name: string
    try {
      const doc = await holder.registry.read()
      const model = selectModel(doc, holder.modelName)
      name = model.name
      entry =
        target.version !== undefined
          ? resolveVersion(model, target.version)
          : stageHolder(model, target.stage ?? 'Production')
      if (!entry) throw new MorphoError('NOT_FOUND', `${model.name} has no ${target.stage ?? 'Production'} version`)
    } catch (err) {
      const error = asMorphoError(err)
      const still = holder.current ? `still serving ${holder.current.label}` : 'no model loaded'
      this.noteOnce(`watch: ${error.message}; ${still}`)
      return undefined
    }
    this.lastNote = ''
    const current = holder.current
    if (current && current.name === name && current.version === entry.version) {
      holder.updateStage(current, entry.stage)
      return undefined
    }
    const failed = holder.lastFailedLoad
    if (
      failed &&
      failed.model === name &&
      failed.version === entry.version &&
      failed.manifest === entry.manifestSha256
    ) {
      return undefined
    }
    return holder.reload('watch')
  }

  private noteOnce(message: string): void {
    if (message === this.lastNote) return
    this.lastNote = message
    this.holder.logger.warn(message)
  }
}

/**
 * The change source for a store folder: tells the server when registry.json may have changed. Writers replace the file by rename, so
 * every change is a whole new file: a watcher never sees half a registry (the lesson of
 * Triton's POLL mode, which can observe a repository mid-change). fs.watch on the store folder
 * reacts within milliseconds where the platform supports it; a poll of the file's signature
 * (inode, size, mtime) catches what fs.watch misses (network filesystems, a store folder that
 * does not exist yet). Bursts are debounced into one call, and calls never overlap.
 */

export interface RegistryWatcher {
  close(): void
}

export interface WatchOptions {
  registryFile: string
  /** Poll interval in milliseconds. */
  intervalMs: number
  debounceMs?: number
  /** The file's current signature ("" when absent). */
  signature(): Promise<string>
  onChange(): Promise<unknown>
  onError?(err: unknown): void
}

export async function watchRegistry(options: WatchOptions): Promise<RegistryWatcher> {
  const file = basename(options.registryFile)
  const folder = dirname(options.registryFile)
  const debounceMs = options.debounceMs ?? 50
  let last = await options.signature().catch(() => '')
  let fsWatcher: FSWatcher | undefined
  let timer: NodeJS.Timeout | undefined
  let closed = false

  const change = oneAtATime(options.onChange, options.onError)
  const fire = async (): Promise<void> => {
    if (!closed) await change()
  }

  const schedule = () => {
    if (closed) return
    if (timer) clearTimeout(timer)
    timer = setTimeout(() => {
      timer = undefined
      void fire()
    }, debounceMs)
  }

  const attach = () => {
    if (fsWatcher || closed) return
    try {
      fsWatcher = watch(folder, {persistent: false}, (_event, name) => {
        if (name === null || name === file) schedule()
      })
      fsWatcher.on('error', () => {
        fsWatcher?.close()
        fsWatcher = undefined
      })
    } catch {
      // The folder does not exist yet, or the platform cannot watch it: the poll covers it.
      fsWatcher = undefined
    }
  }

  const poll = setInterval(() => {
    attach()
    options.signature().then(
      (now) => {
        if (now !== last) {
          last = now
          schedule()
        }
      },
      (err: unknown) => options.onError?.(err),
    )
  }, options.intervalMs)
  poll.unref()
  attach()

  return {
    close() {
      closed = true
      clearInterval(poll)
      if (timer) clearTimeout(timer)
      fsWatcher?.close()
    },
  }
}
