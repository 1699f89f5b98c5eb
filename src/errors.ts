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
  interrupted: 130,
} as const

export type ErrorCode =
  | 'USAGE'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'REGISTRY_BUSY'
  | 'INVALID_DATA'
  | 'TOO_MANY_ROWS'
  | 'INTEGRITY'
  | 'THRESHOLD_NOT_MET'
  | 'DIVERGED'
  | 'INTERRUPTED'
  | 'BACKEND_UNAVAILABLE'
  | 'INTERNAL'

const EXIT_BY_CODE: Record<ErrorCode, number> = {
  USAGE: EXIT.usage,
  NOT_FOUND: EXIT.notFound,
  CONFLICT: EXIT.conflict,
  REGISTRY_BUSY: EXIT.conflict,
  INVALID_DATA: EXIT.invalidData,
  TOO_MANY_ROWS: EXIT.invalidData,
  INTEGRITY: EXIT.integrity,
  THRESHOLD_NOT_MET: EXIT.thresholdNotMet,
  DIVERGED: EXIT.diverged,
  INTERRUPTED: EXIT.interrupted,
  BACKEND_UNAVAILABLE: EXIT.failure,
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

/** Whatever was thrown, as a domain error: an unexpected one becomes INTERNAL with the same message. */
export function asMorphoError(err: unknown): MorphoError {
  if (isMorphoError(err)) return err
  return new MorphoError('INTERNAL', (err as Error)?.message ?? String(err), {cause: err})
}

/** The JSON error envelope printed on stdout under --json (and returned by the HTTP API). */
export interface ErrorEnvelope {
  error: {code: string; exitCode: number; message: string; hint?: string; details?: Record<string, unknown>}
}

export function toEnvelope(err: unknown): ErrorEnvelope {
  if (isMorphoError(err)) {
    return {
      error: {code: err.code, exitCode: err.exitCode, message: err.message, hint: err.hint, details: err.details},
    }
  }
  const e = err as {message?: string; oclif?: {exit?: number}; exitCode?: number}
  const exitCode = e?.oclif?.exit ?? e?.exitCode ?? EXIT.failure
  return {
    error: {
      code: exitCode === EXIT.usage ? 'USAGE' : 'INTERNAL',
      exitCode,
      message: e?.message ?? String(err),
    },
  }
}
