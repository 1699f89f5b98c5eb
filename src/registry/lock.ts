import {lstat, rmdir, stat} from 'node:fs/promises'
import {dirname} from 'node:path'
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
 *
 * Two dead ends that mtime alone cannot see are handled too: a lock whose mtime lies in the
 * future (the clock stepped back, or a host with a clock ahead wrote it) is never "older than
 * staleMs", so a waiter that sees its mtime stand still for staleMs — a live holder moves it
 * every stale/2 — takes it over; and a plain file named registry.lock, which no morpho writes,
 * is refused with the exact command that removes it.
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
  const watch = new StandStill(settings.staleMs)
  // Loaded by the first write: a command that only reads the registry never needs it.
  const {default: lockfile} = await import('proper-lockfile')
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
      const code = (err as NodeJS.ErrnoException).code
      // A file in the lock's place: proper-lockfile says ELOCKED while it is young, ENOTDIR after.
      if (code === 'ELOCKED' || code === 'ENOTDIR') await refuseNonFolder(lockPath)
      if (code !== 'ELOCKED') throw err
    }
    const info = await stat(lockPath).catch(() => undefined)
    if (info && info.mtimeMs > Date.now() && watch.dead(info.mtimeMs)) {
      await takeOverFrozen(lockPath, info.mtimeMs)
      continue
    }
    const left = deadline - Date.now()
    if (left <= 0) throw busy(lockPath, Date.now() - started, settings, info?.mtimeMs)
    // Jitter spreads the retries of many waiting processes.
    await sleep(Math.min(left, pause * (0.5 + Math.random())))
    pause = Math.min(pause * 1.5, 100)
  }
}

/**
 * Whether a lock's mtime has stood still for `staleMs` of this waiter's own (monotonic) time:
 * its holder, if it has one, stopped refreshing it.
 */
class StandStill {
  private seen?: {mtimeMs: number; since: number}

  constructor(private readonly staleMs: number) {}

  dead(mtimeMs: number): boolean {
    const now = performance.now()
    if (this.seen?.mtimeMs !== mtimeMs) this.seen = {mtimeMs, since: now}
    return now - this.seen.since >= this.staleMs
  }
}

/** Removes a lock folder whose mtime stood still, unless someone took it meanwhile (a new mtime). */
async function takeOverFrozen(lockPath: string, mtimeMs: number): Promise<void> {
  const again = await stat(lockPath).catch(() => undefined)
  if (again?.mtimeMs !== mtimeMs) return
  await rmdir(lockPath).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err
  })
}

async function refuseNonFolder(lockPath: string): Promise<void> {
  const info = await lstat(lockPath).catch(() => undefined)
  if (!info || info.isDirectory()) return
  throw new MorphoError(
    'INTEGRITY',
    `${lockPath} is a file, not morpho's lock folder: no morpho process holds it, and no registry write can take the lock while it is there`,
    {
      hint: `Remove it (rm ${shellQuote(lockPath)}) and run the command again; nothing was written.`,
      details: {lock: lockPath, remove: lockPath},
    },
  )
}

function shellQuote(path: string): string {
  return /^[A-Za-z0-9_./-]+$/.test(path) ? path : `'${path.replace(/'/g, `'\\''`)}'`
}

function busy(lockPath: string, waitedMs: number, settings: LockSettings, mtimeMs?: number): MorphoError {
  const future = mtimeMs !== undefined && mtimeMs > Date.now()
  return new MorphoError(
    'REGISTRY_BUSY',
    `registry busy: another morpho process holds ${lockPath} (waited ${Math.round(waitedMs)} ms)`,
    {
      hint: future
        ? `The lock's time, ${new Date(mtimeMs).toISOString()}, is in the future (the clock went back, or another host's clock is ahead); a waiter takes it over once it has stood still for ${settings.staleMs} ms (MORPHO_LOCK_STALE_MS), so wait longer with MORPHO_LOCK_TIMEOUT_MS — or, if no morpho process is writing, remove it: rmdir ${shellQuote(lockPath)}`
        : 'Retry in a moment, or wait longer with MORPHO_LOCK_TIMEOUT_MS. A lock left by a crashed process is ' +
          `recovered by itself once it is ${settings.staleMs} ms old (MORPHO_LOCK_STALE_MS).`,
      details: {
        lock: lockPath,
        waitedMs: Math.round(waitedMs),
        timeoutMs: settings.timeoutMs,
        ...(future ? {lockTime: new Date(mtimeMs).toISOString()} : {}),
      },
    },
  )
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
