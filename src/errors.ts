import {printable} from './text.js'

/**
 * Domain errors. Everything in src/ throws these; the base command translates them once
 * into exit codes and the JSON error envelope, so the CLI, the server and the tests agree.
 */

export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  thresholdNotMet: 3,
  notFound: 4,
  conflict: 5,
  invalidData: 6,
  integrity: 7,
  diverged: 8,
  storage: 9,
  interrupted: 130,
} as const

export type ErrorCode =
  | 'USAGE'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'REGISTRY_BUSY'
  | 'STORE_UNAVAILABLE'
  | 'INVALID_DATA'
  | 'TOO_MANY_ROWS'
  | 'INTEGRITY'
  | 'THRESHOLD_NOT_MET'
  | 'DIVERGED'
  | 'INTERRUPTED'
  | 'STORAGE'
  | 'SHUTDOWN_TIMEOUT'
  | 'BACKEND_UNAVAILABLE'
  /** `morpho health`: the server is down, or up without a model (exit 1, what a health check expects). */
  | 'UNHEALTHY'
  | 'INTERNAL'

const EXIT_BY_CODE: Record<ErrorCode, number> = {
  USAGE: EXIT.usage,
  NOT_FOUND: EXIT.notFound,
  CONFLICT: EXIT.conflict,
  REGISTRY_BUSY: EXIT.conflict,
  STORE_UNAVAILABLE: EXIT.conflict,
  INVALID_DATA: EXIT.invalidData,
  TOO_MANY_ROWS: EXIT.invalidData,
  INTEGRITY: EXIT.integrity,
  THRESHOLD_NOT_MET: EXIT.thresholdNotMet,
  DIVERGED: EXIT.diverged,
  INTERRUPTED: EXIT.interrupted,
  STORAGE: EXIT.storage,
  SHUTDOWN_TIMEOUT: EXIT.failure,
  BACKEND_UNAVAILABLE: EXIT.failure,
  UNHEALTHY: EXIT.failure,
  INTERNAL: EXIT.failure,
}

export interface MorphoErrorOptions {
  /** What to do next; shown under the message. */
  hint?: string
  /** Machine-readable details for the JSON envelope. */
  details?: Record<string, unknown>
  cause?: unknown
}

export class MorphoError extends Error {
  readonly code: ErrorCode
  readonly hint?: string
  readonly details?: Record<string, unknown>

  constructor(code: ErrorCode, message: string, options: MorphoErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.name = 'MorphoError'
    this.code = code
    this.hint = options.hint
    this.details = options.details
  }

  get exitCode(): number {
    return EXIT_BY_CODE[this.code]
  }
}

export const usageError = (message: string, options?: MorphoErrorOptions) => new MorphoError('USAGE', message, options)
export const notFound = (message: string, options?: MorphoErrorOptions) =>
  new MorphoError('NOT_FOUND', message, options)
export const invalidData = (message: string, options?: MorphoErrorOptions) =>
  new MorphoError('INVALID_DATA', message, options)
export const integrityError = (message: string, options?: MorphoErrorOptions) =>
  new MorphoError('INTEGRITY', message, options)

export function isMorphoError(err: unknown): err is MorphoError {
  return err instanceof MorphoError
}

/**
 * The one translation of the operating system's file errors into domain errors: a full disk,
 * a permission, a read-only mount or a failing device is STORAGE (exit 9); a folder or a
 * link where the store has a file (or a file where it has a folder) is INTEGRITY (exit 7).
 * `details.errno` keeps the system's code for scripts. Anything else is not one: undefined.
 */
export function fromSystemError(err: unknown): MorphoError | undefined {
  if (err instanceof MorphoError || typeof err !== 'object' || err === null) return undefined
  const e = err as NodeJS.ErrnoException & {dest?: string}
  const code = e.code
  if (typeof code !== 'string' || !(code in SYSTEM_ERRORS)) return undefined
  const path = e.path ?? 'a file'
  const [kind, what, hint] = SYSTEM_ERRORS[code as keyof typeof SYSTEM_ERRORS]
  const details: Record<string, unknown> = {errno: code, syscall: e.syscall ?? null, path: e.path ?? null}
  if (e.dest !== undefined) details.dest = e.dest
  return new MorphoError(kind, `${what(path)} (${code}${e.syscall ? ` on ${e.syscall}` : ''})`, {
    hint,
    details,
    cause: err,
  })
}

const WRITABLE_HINT =
  'Point --home (or MORPHO_HOME) at a folder this user can write, or fix the owner and mode of this one.'
const SYSTEM_ERRORS = {
  ENOSPC: [
    'STORAGE',
    (p: string) => `No space left on the device to write ${p}`,
    'Free some space (or quota) on that device and run the command again; a write that failed left the file it replaces as it was.',
  ],
  EDQUOT: [
    'STORAGE',
    (p: string) => `Disk quota exceeded writing ${p}`,
    'Free some space within the quota and run the command again; a write that failed left the file it replaces as it was.',
  ],
  EACCES: ['STORAGE', (p: string) => `Permission denied on ${p}`, WRITABLE_HINT],
  EPERM: ['STORAGE', (p: string) => `Operation not permitted on ${p}`, WRITABLE_HINT],
  EROFS: ['STORAGE', (p: string) => `Read-only file system: cannot write ${p}`, WRITABLE_HINT],
  EIO: [
    'STORAGE',
    (p: string) => `The device reported an I/O error on ${p}`,
    'Check the device (dmesg, the filesystem) before trusting what is on it.',
  ],
  EISDIR: [
    'INTEGRITY',
    (p: string) => `${p} is a folder where morpho expects a file`,
    'Move the folder aside (or restore the file from a backup) and run the command again.',
  ],
  ENOTDIR: [
    'INTEGRITY',
    (p: string) => `A part of ${p} is a file where morpho expects a folder`,
    'Move the file aside and run the command again.',
  ],
  ELOOP: [
    'INTEGRITY',
    (p: string) => `${p} is a symbolic link; morpho does not follow links inside its store`,
    'Replace the link with a copy of the file it points to, or remove it.',
  ],
} as const satisfies Record<string, readonly [ErrorCode, (path: string) => string, string]>

/** The INTERRUPTED error (exit 130) when `signal` has been aborted, saying what was (not) done. */
export function stopIfInterrupted(signal: AbortSignal | undefined, message: string, hint?: string): void {
  if (signal?.aborted) throw new MorphoError('INTERRUPTED', message, hint === undefined ? {} : {hint})
}

/** Whatever was thrown, as a domain error: itself, its system-error translation, or INTERNAL with the same message. */
export function asMorphoError(err: unknown): MorphoError {
  if (isMorphoError(err)) return err
  return fromSystemError(err) ?? new MorphoError('INTERNAL', (err as Error)?.message ?? String(err), {cause: err})
}

/** The JSON error envelope printed on stdout under --json (and returned by the HTTP API). */
export interface ErrorEnvelope {
  error: {code: string; exitCode: number; message: string; hint?: string; details?: Record<string, unknown>}
}

export function toEnvelope(raw: unknown): ErrorEnvelope {
  const err = fromSystemError(raw) ?? raw
  if (isMorphoError(err)) {
    return {
      error: {
        code: err.code,
        exitCode: err.exitCode,
        message: printable(err.message),
        hint: err.hint === undefined ? undefined : printable(err.hint),
        details: err.details,
      },
    }
  }
  const e = err as {message?: string; oclif?: {exit?: number}; exitCode?: number}
  const exitCode = e?.oclif?.exit ?? e?.exitCode ?? EXIT.failure
  return {
    error: {
      code: exitCode === EXIT.usage ? 'USAGE' : 'INTERNAL',
      exitCode,
      message: printable(e?.message ?? String(err)),
    },
  }
}
