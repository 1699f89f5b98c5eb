import {EXIT} from '../errors.js'

/**
 * SIGINT and SIGTERM, for the length of a command, as an AbortSignal: the first one aborts
 * (the command stops at its next safe point, cleans up and exits 130), a second one exits 130
 * at once. The handlers stay installed (process.on, not once) until released: a signal that
 * finds no listener of ours left is the default one, which kills the process before anything
 * is cleaned up (or, with a library's exit hook installed, makes it kill itself).
 */
export interface Interrupts {
  signal: AbortSignal
  release(): void
}

export function catchInterrupts(onFirst?: (signal: NodeJS.Signals) => void): Interrupts {
  const abort = new AbortController()
  const handler = (signal: NodeJS.Signals) => {
    if (abort.signal.aborted) process.exit(EXIT.interrupted)
    onFirst?.(signal)
    abort.abort(signal)
  }
  process.on('SIGINT', handler)
  process.on('SIGTERM', handler)
  // A parent gone or an output closed stops the command once; unlike a second signal, the
  // other of the two coming after does not make it exit at once.
  const stop = () => {
    if (!abort.signal.aborted) handler('SIGTERM')
  }
  const orphaned = watchParent(stop)
  onOutputClosed.add(stop)
  watchOutput()
  return {
    signal: abort.signal,
    release() {
      process.off('SIGINT', handler)
      process.off('SIGTERM', handler)
      orphaned?.()
      onOutputClosed.delete(stop)
    },
  }
}

const onOutputClosed = new Set<() => void>()
let outputWatched = false
let outputClosed = false

/**
 * A reader of stdout or stderr that went away (`morpho train 2>&1 | head`, a sweep killed
 * while its run reports to it) makes every later write fail with EPIPE. The first one stops
 * the command in progress as SIGTERM would (a run is marked interrupted, not left "running"
 * by a crash); that and every later write error on a closed output are dropped, so the
 * command can finish its cleanup and exit with its own code.
 */
function watchOutput(): void {
  if (outputWatched) return
  outputWatched = true
  const closed = (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE' && !outputClosed) throw err
    if (outputClosed) return
    outputClosed = true
    for (const stop of onOutputClosed) stop()
  }
  process.stdout.on('error', closed)
  process.stderr.on('error', closed)
}

/**
 * Set by a command that runs morpho processes of its own (a sweep's runs) to its pid: a child
 * whose parent is gone without passing a signal on (SIGKILLed, out of memory) stops as if sent
 * SIGTERM — its run marked interrupted — instead of training on with nobody to report to.
 */
export const PARENT_PID_ENV = 'MORPHO_PARENT_PID'
const PARENT_POLL_MS = 500

/** Calls `gone` once when this process's parent is no longer the one named; returns the stop. */
function watchParent(gone: () => void): (() => void) | undefined {
  const parent = Number(process.env[PARENT_PID_ENV])
  if (!Number.isInteger(parent) || parent < 1) return undefined
  const check = () => {
    // An orphan is adopted by init or a subreaper: its parent pid changes.
    if (process.ppid === parent) return
    clearInterval(timer)
    gone()
  }
  const timer = setInterval(check, PARENT_POLL_MS)
  timer.unref()
  return () => clearInterval(timer)
}

/** Runs `body` with SIGINT/SIGTERM caught as its abort signal. */
export async function interruptible<T>(
  body: (signal: AbortSignal) => Promise<T>,
  onFirst?: (signal: NodeJS.Signals) => void,
): Promise<T> {
  const interrupts = catchInterrupts(onFirst)
  try {
    return await body(interrupts.signal)
  } finally {
    interrupts.release()
  }
}
