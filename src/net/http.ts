import type {IncomingMessage, ServerResponse} from 'node:http'
import {invalidData} from '../errors.js'
import {HttpError} from './http-error.js'

/**
 * The plumbing every morpho HTTP handler shares: writing a whole answer at once, refusing a
 * method with a 405 that says what is allowed, and reading a bounded request body.
 */

export const JSON_TYPE = 'application/json; charset=utf-8'

export interface AnswerOptions {
  /** Content-Type; JSON by default. */
  type?: string
  headers?: Readonly<Record<string, string | number>>
  /** A HEAD request: the headers of the answer, without its body. */
  head?: boolean
  /** Ask the client to close the connection after this answer (a server that is stopping). */
  close?: boolean
}

/** Writes status, headers and body in one go; nothing when an answer was already sent or the client left. */
export function writeAnswer(res: ServerResponse, status: number, body: string | Buffer, options?: AnswerOptions): void {
  if (res.headersSent || res.destroyed) return
  // The flat [name, value, ...] form: node:http takes it without walking an object.
  const head: (string | number)[] = [
    'Content-Type',
    options?.type ?? JSON_TYPE,
    'Content-Length',
    typeof body === 'string' ? Buffer.byteLength(body) : body.length,
  ]
  if (options?.headers) for (const [name, value] of Object.entries(options.headers)) head.push(name, value)
  if (options?.close) head.push('Connection', 'close')
  res.writeHead(status, head as unknown as string[])
  res.end(options?.head ? undefined : body)
}

export type Method = 'GET' | 'POST'

/** Throws a 405 naming what `where` takes unless `method` is one of `methods` (HEAD goes with GET). */
export function allowMethods(method: string, where: string, methods: readonly Method[]): void {
  if (methods.includes(method as Method) || (method === 'HEAD' && methods.includes('GET'))) return
  const allowed = methods.includes('GET') ? [...methods, 'HEAD'] : [...methods]
  throw new HttpError('METHOD_NOT_ALLOWED', `${method} is not allowed on ${where}; use ${allowed.join(' or ')}`, {
    headers: {Allow: allowed.join(', ')},
  })
}

/**
 * The whole body, then `done`, once: with the bytes, or with the error that ended the read (413
 * past `limit`, declared or streamed; 400 when the connection closed first).
 */
export function readBody(
  req: IncomingMessage,
  res: ServerResponse,
  limit: number,
  done: (err: unknown, body?: Buffer) => void,
): void {
  const declared = req.headers['content-length']
  if (declared !== undefined && Number(declared) > limit) {
    done(tooLarge(Number(declared), limit))
    return
  }
  let settled = false
  const settle = (err: unknown, body?: Buffer) => {
    if (settled) return
    settled = true
    done(err, body)
  }
  const chunks: Buffer[] = []
  let size = 0
  const onData = (chunk: Buffer) => {
    size += chunk.length
    if (size > limit) {
      req.off('data', onData)
      // The rest of the body is not read; the connection closes after the 413.
      res.shouldKeepAlive = false
      settle(tooLarge(size, limit, true))
      return
    }
    chunks.push(chunk)
  }
  req.on('data', onData)
  req.once('end', () => settle(undefined, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)))
  const cut = () =>
    settle(
      // The server's own request timeout (node:http answers it 408 and closes) or the client leaving.
      (req.socket as {errored?: {code?: string} | null} | null)?.errored?.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new HttpError('REQUEST_TIMEOUT', 'the body did not arrive within the request timeout')
        : invalidData('the connection closed before the body was complete'),
    )
  req.once('error', cut)
  // Whatever ends the request early (an aborted upload, a timeout), it must not stay in
  // flight: a pending body would hold up a shutdown until its timeout.
  req.once('close', () => {
    if (!req.complete) cut()
  })
}

function tooLarge(size: number, limit: number, streaming = false): HttpError {
  const what = streaming ? `more than ${limit}` : String(size)
  return new HttpError('PAYLOAD_TOO_LARGE', `the body is ${what} bytes; this server takes at most ${limit}`)
}
