import {isMorphoError} from '../errors.js'

/**
 * Every error the server answers has one JSON shape:
 *
 *   {"error": "<what is wrong, with the offending value>", "code": "<CODE>", "detail": "<same text>"}
 *
 * `error` is what Open Inference Protocol clients read; `detail` repeats it for clients of the
 * original server, whose errors were FastAPI's `{"detail": ...}`. `code` is stable for scripts.
 */

export type HttpErrorCode =
  | 'MALFORMED_JSON'
  | 'INVALID_INPUT'
  | 'TOO_MANY_ROWS'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'UNAUTHORIZED'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'NO_MODEL'
  | 'RELOAD_FAILED'
  | 'INTEGRITY'
  | 'SHUTTING_DOWN'
  | 'INTERNAL'

export class HttpError extends Error {
  readonly status: number
  readonly code: HttpErrorCode
  readonly headers?: Record<string, string>

  constructor(status: number, code: HttpErrorCode, message: string, headers?: Record<string, string>) {
    super(message)
    this.name = 'HttpError'
    this.status = status
    this.code = code
    this.headers = headers
  }
}

export const badInput = (message: string) => new HttpError(400, 'INVALID_INPUT', message)

export interface ErrorBody {
  error: string
  code: HttpErrorCode
  detail: string
}

export function errorBody(err: HttpError): ErrorBody {
  return {error: err.message, code: err.code, detail: err.message}
}

/**
 * A domain error met while answering a request, as HTTP: what the user named and is not there
 * is a 404; files that fail their checksums are the server's 500 (the store is damaged, not
 * the request); anything unexpected is a 500 that says only what failed.
 */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err
  if (isMorphoError(err)) {
    switch (err.code) {
      case 'NOT_FOUND':
        return new HttpError(404, 'NOT_FOUND', err.message)
      case 'USAGE':
      case 'INVALID_DATA':
        return new HttpError(400, 'INVALID_INPUT', err.message)
      case 'INTEGRITY':
        return new HttpError(500, 'INTEGRITY', err.message)
      default:
        return new HttpError(500, 'INTERNAL', err.message)
    }
  }
  return new HttpError(500, 'INTERNAL', `internal error: ${(err as Error)?.message ?? String(err)}`)
}
