import {type FSWatcher, watch} from 'node:fs'
import {basename, dirname} from 'node:path'

/**
 * Tells the server when registry.json may have changed. Writers replace the file by rename, so
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
  let running = false
  let again = false
  let closed = false

  const fire = async (): Promise<void> => {
    if (closed) return
    if (running) {
      again = true
      return
    }
    running = true
    try {
      await options.onChange()
    } catch (err) {
      options.onError?.(err)
    } finally {
      running = false
    }
    if (again) {
      again = false
      void fire()
    }
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
