import type {IncomingMessage, ServerResponse} from 'node:http'
import type {Method} from '../net/http.js'
import type {HttpError} from '../net/http-error.js'
import type {RouteMatch, RouteTemplate} from '../net/routes.js'
import type {ModelHolder} from './model-holder.js'
import type {RegistryCache} from './registry-cache.js'
import type {ModelSnapshot} from './snapshot.js'
import type {RowLimits} from './validate.js'

/**
 * What an endpoint of `morpho serve` is given: the request in flight (Ctx) and the server's
 * ways of answering it (EndpointKit). app.ts builds both; the endpoint modules only answer.
 */

/** One request in flight. */
export interface Ctx {
  req: IncomingMessage
  res: ServerResponse
  started: number
  method: string
  url: string
  route: RouteMatch | undefined
  /** Rows predicted and the version that answered, for the request log. */
  rows?: number
  modelVersion?: string
  done: boolean
}

export type Handler = (ctx: Ctx) => void | Promise<void>

export type Endpoints = Partial<Record<RouteTemplate, Handler>>

export interface EndpointKit {
  holder: ModelHolder
  registry: RegistryCache
  morphoVersion: string
  /** True while the server stops: readiness says no. */
  stopping(): boolean
  /** Answers once with this status and body (JSON unless `type` says otherwise), and counts it. */
  finish(ctx: Ctx, status: number, body: string, extra?: {type?: string; headers?: Record<string, string>}): void
  /** Answers an error in the one error body, with extra fields when an endpoint defines them. */
  fail(ctx: Ctx, err: unknown, fields?: Record<string, unknown>): void
  /** Throws a 405 unless the method is one of these (HEAD goes with GET). */
  allow(ctx: Ctx, ...methods: Method[]): void
  /** Reads and parses a JSON body, then hands it on; whatever goes wrong is answered as an error. */
  withJson(ctx: Ctx, then: (body: unknown) => void | Promise<void>): void
  /**
   * Reads a request's rows for a snapshot with `read`, runs them through its batcher and answers
   * with `render`. The snapshot is released once the answer is written, or at once when the rows
   * never reach the batcher (a bad request).
   */
  answerRows<R extends {rows: Float32Array; n: number}>(
    ctx: Ctx,
    snapshot: ModelSnapshot,
    read: () => R,
    render: (request: R, probs: Float32Array, ms: number) => string,
  ): void
  /** The row limits of a request to this snapshot. */
  limitsOf(snapshot: ModelSnapshot): RowLimits
  /** The 503 of a server with no model loaded. */
  noModel(): HttpError
}
