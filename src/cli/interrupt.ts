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
  return {
    signal: abort.signal,
    release() {
      process.off('SIGINT', handler)
      process.off('SIGTERM', handler)
    },
  }
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
