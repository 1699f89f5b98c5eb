import {dirname} from 'node:path'
import lockfile from 'proper-lockfile'
import type {Env} from '../config.js'
import {MorphoError} from '../errors.js'
import {makeDirs} from '../store/atomic.js'

/**
 * The inter-process lock around every registry read-modify-write.
 *
 * A lock folder (mkdir is atomic, also on network filesystems) whose mtime the holder
 * refreshes every stale/2 ms. A holder that dies without cleaning up (SIGKILL, power loss)
 * leaves a folder whose mtime stops moving; once it is older than `staleMs` the next writer
 * removes it and goes on. Waiting is bounded: after `timeoutMs` the writer gives up with
 * REGISTRY_BUSY (exit 5) instead of hanging a CI job.
 */

export const DEFAULT_LOCK_TIMEOUT_MS = 10_000
/** Short enough that a crashed holder is recovered well within one default wait. */
export const DEFAULT_LOCK_STALE_MS = 5_000
export const MIN_LOCK_STALE_MS = 2_000

export interface LockSettings {
  timeoutMs: number
  staleMs: number
}

/** MORPHO_LOCK_TIMEOUT_MS and MORPHO_LOCK_STALE_MS, else the defaults; stale is at least 2 s. */
export function lockSettings(env: Env = process.env): LockSettings {
  const timeoutMs = positiveNumber(env.MORPHO_LOCK_TIMEOUT_MS, 'MORPHO_LOCK_TIMEOUT_MS') ?? DEFAULT_LOCK_TIMEOUT_MS
  const stale = positiveNumber(env.MORPHO_LOCK_STALE_MS, 'MORPHO_LOCK_STALE_MS') ?? DEFAULT_LOCK_STALE_MS
  return {timeoutMs, staleMs: Math.max(stale, MIN_LOCK_STALE_MS)}
}

function positiveNumber(raw: string | undefined, name: string): number | undefined {
  if (raw === undefined || raw === '') return undefined
  const n = Number(raw)
  if (!Number.isFinite(n) || n < 0) {
    throw new MorphoError('USAGE', `${name} must be a number of milliseconds, got "${raw}"`)
  }
  return n
}

export interface HeldLock {
  /** Throws if the lock was lost while held (its folder removed or taken over as stale). */
  assertHeld(): void
}

// Writers in one process queue here first, so they do not poll the lock folder against each other.
const queues = new Map<string, Promise<unknown>>()

/** Runs `fn` while holding the lock at `lockPath`; releases it whatever happens. */
export function withLock<T>(
  lockPath: string,
  fn: (lock: HeldLock) => Promise<T>,
  settings: LockSettings = lockSettings(),
): Promise<T> {
  const previous = queues.get(lockPath) ?? Promise.resolve()
  const run = previous.then(
    () => holdLock(lockPath, fn, settings),
    () => holdLock(lockPath, fn, settings),
  )
  const tail = run.catch(() => undefined)
  queues.set(lockPath, tail)
  void tail.then(() => {
    if (queues.get(lockPath) === tail) queues.delete(lockPath)
  })
  return run
}

async function holdLock<T>(lockPath: string, fn: (lock: HeldLock) => Promise<T>, settings: LockSettings): Promise<T> {
  let lost: Error | undefined
  const release = await acquire(lockPath, settings, (err) => {
    lost = err
  })
  const held: HeldLock = {
    assertHeld() {
      if (lost) {
        throw new MorphoError('REGISTRY_BUSY', `lost the registry lock ${lockPath} before writing: ${lost.message}`, {
          hint: 'Nothing was written. Retry the command; if this repeats, raise MORPHO_LOCK_STALE_MS.',
          details: {lock: lockPath},
        })
      }
    },
  }
  try {
    return await fn(held)
  } finally {
    // A lock lost after the write has nothing left to protect; the release error adds nothing.
    await release().catch(() => undefined)
  }
}

async function acquire(
  lockPath: string,
  settings: LockSettings,
  onCompromised: (err: Error) => void,
): Promise<() => Promise<void>> {
  await makeDirs(dirname(lockPath))
  const started = Date.now()
  const deadline = started + settings.timeoutMs
  let pause = 4
  for (;;) {
    try {
      // The lock folder is its own subject: nothing else has to exist (realpath false).
      return await lockfile.lock(lockPath, {
        lockfilePath: lockPath,
        realpath: false,
        stale: settings.staleMs,
        retries: 0,
        onCompromised,
      })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err
    }
    const left = deadline - Date.now()
    if (left <= 0) throw busy(lockPath, Date.now() - started, settings)
    // Jitter spreads the retries of many waiting processes.
    await sleep(Math.min(left, pause * (0.5 + Math.random())))
    pause = Math.min(pause * 1.5, 100)
  }
}

function busy(lockPath: string, waitedMs: number, settings: LockSettings): MorphoError {
  return new MorphoError(
    'REGISTRY_BUSY',
    `registry busy: another morpho process holds ${lockPath} (waited ${Math.round(waitedMs)} ms)`,
    {
      hint:
        'Retry in a moment, or wait longer with MORPHO_LOCK_TIMEOUT_MS. A lock left by a crashed process is ' +
        `recovered by itself once it is ${settings.staleMs} ms old (MORPHO_LOCK_STALE_MS).`,
      details: {lock: lockPath, waitedMs: Math.round(waitedMs), timeoutMs: settings.timeoutMs},
    },
  )
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
