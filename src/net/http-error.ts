import {type ErrorCode, isMorphoError} from '../errors.js'

/**
 * Errors as the HTTP servers answer them: one table from every error code (the domain's, and
 * those only a request can meet) to its status, and one JSON body for every endpoint family:
 *
 *   {"error": "<what is wrong, with the offending value>", "code": "<CODE>", "detail": "<same text>",
 *    "hint"?: "<what to do>", "details"?: {...}}
 *
 * `error` is what Open Inference Protocol v2 clients read (its error shape is `{"error": string}`);
 * `detail` repeats it for clients of the original server, whose errors were FastAPI's
 * `{"detail": ...}`; `code` is stable for scripts and is the code `morpho … --json` reports for
 * the same problem. The page's JSON API uses the same body, so one reader serves the whole port.
 */

/** What only a request can get wrong, before any domain function sees it. */
export type HttpOnlyCode =
  | 'MALFORMED_JSON'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'UNAUTHORIZED'
  | 'HOST_NOT_ALLOWED'
  | 'CROSS_ORIGIN'
  | 'METHOD_NOT_ALLOWED'
  | 'REQUEST_TIMEOUT'
  | 'NO_MODEL'
  | 'SHUTTING_DOWN'

export type HttpErrorCode = ErrorCode | HttpOnlyCode

/**
 * The status of every code. A 4xx is the request's to fix (and is not an error in the alert
 * rules); a 5xx is the server's own failure. A damaged version or run a request names is a 422:
 * the request was understood, the stored thing it names cannot be used, and asking again gives
 * the same answer, so it must not count as the server failing.
 */
export const HTTP_STATUS: Readonly<Record<HttpErrorCode, number>> = {
  USAGE: 400,
  INVALID_DATA: 400,
  TOO_MANY_ROWS: 400,
  MALFORMED_JSON: 400,
  UNAUTHORIZED: 401,
  HOST_NOT_ALLOWED: 403,
  CROSS_ORIGIN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  REQUEST_TIMEOUT: 408,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  INTEGRITY: 422,
  THRESHOLD_NOT_MET: 422,
  DIVERGED: 422,
  INTERNAL: 500,
  NO_MODEL: 503,
  SHUTTING_DOWN: 503,
  REGISTRY_BUSY: 503,
  // The store cannot be written (or read) right now: a full disk, a permission, a read-only mount.
  STORAGE: 503,
  STORE_UNAVAILABLE: 503,
  BACKEND_UNAVAILABLE: 503,
  UNHEALTHY: 503,
  INTERRUPTED: 503,
  SHUTDOWN_TIMEOUT: 503,
}

export interface HttpErrorOptions {
  /** Extra response headers (Allow, WWW-Authenticate). */
  headers?: Record<string, string>
  hint?: string
  details?: Record<string, unknown>
}

export class HttpError extends Error {
  readonly status: number
  readonly code: HttpErrorCode
  readonly headers?: Record<string, string>
  readonly hint?: string
  readonly details?: Record<string, unknown>

  constructor(code: HttpErrorCode, message: string, options: HttpErrorOptions = {}) {
    super(message)
    this.name = 'HttpError'
    this.code = code
    this.status = HTTP_STATUS[code]
    this.headers = options.headers
    this.hint = options.hint
    this.details = options.details
  }
}

export interface ErrorBody {
  error: string
  code: HttpErrorCode
  detail: string
  hint?: string
  details?: Record<string, unknown>
}

export function errorBody(err: HttpError): ErrorBody {
  const body: ErrorBody = {error: err.message, code: err.code, detail: err.message}
  if (err.hint !== undefined) body.hint = err.hint
  if (err.details !== undefined) body.details = err.details
  return body
}

/**
 * Whatever was thrown while answering a request, as HTTP: a domain error keeps its code, message
 * and hint, with the table's status; anything unexpected is a 500 that says only what failed.
 */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err
  if (isMorphoError(err)) return new HttpError(err.code, err.message, {hint: err.hint, details: err.details})
  return new HttpError('INTERNAL', `internal error: ${(err as Error)?.message ?? String(err)}`)
}
