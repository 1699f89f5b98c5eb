import {createHash, timingSafeEqual} from 'node:crypto'
import {createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {InferenceMetrics} from '../monitoring/inference-metrics.js'
import {allowMethods, readBody, writeAnswer} from '../net/http.js'
import {errorBody, HttpError, toHttpError} from '../net/http-error.js'
import {matchRoute} from '../net/routes.js'
import type {Tf} from '../tf/backend.js'
import type {Ctx, EndpointKit, Endpoints, Handler} from './endpoint.js'
import type {RequestLogLine, ServeLogger} from './log.js'
import type {ModelHolder} from './model-holder.js'
import {oipEndpoints} from './oip.js'
import type {RegistryCache} from './registry-cache.js'
import {renderModels, renderPrediction} from './render.js'
import type {ModelSnapshot} from './snapshot.js'
import {checkContentType, parseJson, readPredictRequest, toRows} from './validate.js'

/**
 * The HTTP API of `morpho serve` as an unstarted node:http server: the original's endpoints
 * (/health, /metrics, /models, /predict, /reload-model) with their JSON shapes here, the Open
 * Inference Protocol v2 ones (/v2/...) in oip.ts, their answers built in render.ts. This file
 * owns the request's life: routing, answering once, counting and logging it. Listening,
 * signals and the watcher live in serve.ts.
 */

export interface AppOptions {
  /** Largest request body, in bytes (413 beyond). */
  maxBodyBytes: number
  /** Most rows in one request (400 beyond). */
  maxBatchRows: number
  /** Bearer token required by POST /reload-model; none means no protection. */
  token?: string
  /** Serve GET /debug/memory (RSS, heap, TF.js tensors). */
  debug?: boolean
  morphoVersion: string
}

/** Shared with whoever stops the server: while stopping, every response closes its connection. */
export interface ServerState {
  stopping: boolean
  inFlight: number
  /** Requests answered so far. */
  handled: number
}

export interface AppDeps {
  holder: ModelHolder
  metrics: InferenceMetrics
  registry: RegistryCache
  logger: ServeLogger
  options: AppOptions
  state?: ServerState
  /** TF.js, for the tensor count in /debug/memory. */
  tf?: Tf
  /**
   * Another handler tried before answering 404 (a web page, say). It returns true when it
   * took the request and answers it itself.
   */
  mount?: (req: IncomingMessage, res: ServerResponse) => boolean
}

export function createServerState(): ServerState {
  return {stopping: false, inFlight: 0, handled: 0}
}

export function createServer(deps: AppDeps): Server {
  const {holder, metrics, logger, options} = deps
  const state = deps.state ?? createServerState()
  const tokenDigest = options.token === undefined ? undefined : digest(options.token)

  const finish = (
    ctx: Ctx,
    status: number,
    body: string,
    extra?: {type?: string; headers?: Record<string, string>; error?: string},
  ) => {
    if (ctx.done) return
    ctx.done = true
    writeAnswer(ctx.res, status, body, {
      type: extra?.type,
      headers: extra?.headers,
      head: ctx.method === 'HEAD',
      close: state.stopping,
    })
    record(ctx, status, extra?.error)
  }

  // The scrape that reads the in-flight gauge is not in flight for the service it reports on.
  const countsInFlight = (ctx: Ctx) => ctx.route?.template !== '/metrics'

  const record = (ctx: Ctx, status: number, error?: string) => {
    state.inFlight--
    state.handled++
    if (countsInFlight(ctx)) metrics.inFlight.dec()
    const seconds = (performance.now() - ctx.started) / 1000
    metrics.observeRequest({method: ctx.method, target: ctx.url, route: ctx.route?.template, status, seconds})
    if (logger.request) {
      const line: RequestLogLine = {
        time: new Date().toISOString(),
        method: ctx.method,
        path: ctx.url.split('?', 1)[0]!,
        route: ctx.route?.template ?? 'unmatched',
        status,
        ms: Math.round(seconds * 1e6) / 1000,
      }
      if (ctx.rows !== undefined) line.rows = ctx.rows
      if (ctx.modelVersion !== undefined) line.model_version = ctx.modelVersion
      if (error !== undefined) line.error = error
      logger.request(line)
    }
  }

  const fail = (ctx: Ctx, err: unknown, fields?: Record<string, unknown>) => {
    if (ctx.done) return
    const e = toHttpError(err)
    if (e.status >= 500) logger.warn(`${ctx.method} ${ctx.url.split('?', 1)[0]} → ${e.status}: ${e.message}`)
    const body = fields ? {...errorBody(e), ...fields} : errorBody(e)
    finish(ctx, e.status, JSON.stringify(body), {headers: e.headers, error: e.message})
  }

  const allow = (ctx: Ctx, ...methods: ('GET' | 'POST')[]) =>
    allowMethods(ctx.method, ctx.route?.template ?? ctx.url.split('?', 1)[0]!, methods)

  const withJson = (ctx: Ctx, then: (body: unknown) => void | Promise<void>): void => {
    checkContentType(ctx.req.headers['content-type'])
    readBody(ctx.req, ctx.res, options.maxBodyBytes, (err, body) => {
      if (body === undefined) {
        fail(ctx, err)
        return
      }
      try {
        const pending = then(parseJson(body))
        if (pending) pending.catch((e: unknown) => fail(ctx, e))
      } catch (e) {
        fail(ctx, e)
      }
    })
  }

  const answerRows = <R extends {rows: Float32Array; n: number}>(
    ctx: Ctx,
    snapshot: ModelSnapshot,
    read: () => R,
    render: (request: R, probs: Float32Array, ms: number) => string,
  ): void => {
    let submitted = false
    try {
      ctx.modelVersion = String(snapshot.version)
      const request = read()
      ctx.rows = request.n
      snapshot.batcher.submit(request.rows, request.n, (err, result) => {
        try {
          if (result) finish(ctx, 200, render(request, result.probs, result.ms))
          else fail(ctx, err)
        } catch (e) {
          fail(ctx, e)
        } finally {
          snapshot.release()
        }
      })
      submitted = true
    } finally {
      if (!submitted) snapshot.release()
    }
  }

  const noModel = () =>
    new HttpError(
      'NO_MODEL',
      'no model loaded: promote a version (morpho promote Production --version N), then POST /reload-model or run the server with --watch',
    )

  const limitsOf = (snapshot: ModelSnapshot) => ({
    inputDim: snapshot.inputDim,
    maxRows: options.maxBatchRows,
    model: snapshot.label,
  })

  const kit: EndpointKit = {
    holder,
    registry: deps.registry,
    morphoVersion: options.morphoVersion,
    stopping: () => state.stopping,
    finish,
    fail,
    allow,
    withJson,
    answerRows,
    limitsOf,
    noModel,
  }

  // ---- The original server's endpoints -------------------------------------------------------

  const predict = (ctx: Ctx) => {
    allow(ctx, 'POST')
    withJson(ctx, (body) => {
      const request = readPredictRequest(body)
      const answer = (snapshot: ModelSnapshot) =>
        answerRows(
          ctx,
          snapshot,
          () => toRows(request.value, request.field, limitsOf(snapshot)),
          ({n}, probs, ms) => renderPrediction(snapshot, probs, n, ms, request.field),
        )
      if (request.modelVersion !== undefined) return holder.acquireVersion(request.modelVersion).then(answer)
      const snapshot = holder.acquire()
      if (!snapshot) throw noModel()
      answer(snapshot)
    })
  }

  const health = (ctx: Ctx) => {
    allow(ctx, 'GET')
    const current = holder.current
    const body = {
      status: state.stopping ? 'stopping' : current ? 'healthy' : 'degraded',
      ...(current ? {} : {reason: 'no model loaded'}),
      model_loaded: current !== undefined,
      model_name: current?.name ?? holder.modelName ?? null,
      model_version: current ? String(current.version) : null,
      model_stage: current?.stage ?? null,
      // As the original: seconds since the epoch, as a string.
      timestamp: (Date.now() / 1000).toFixed(3),
    }
    finish(ctx, state.stopping ? 503 : 200, JSON.stringify(body))
  }

  const metricsText = async (ctx: Ctx) => {
    allow(ctx, 'GET')
    const text = await metrics.registry.metrics()
    finish(ctx, 200, text, {type: metrics.registry.contentType})
  }

  const models = async (ctx: Ctx) => {
    allow(ctx, 'GET')
    const doc = await deps.registry.read()
    finish(ctx, 200, JSON.stringify(renderModels(doc, holder)))
  }

  const reload = async (ctx: Ctx) => {
    allow(ctx, 'POST')
    authorize(ctx.req, tokenDigest)
    const outcome = await holder.reload('api')
    if (outcome.ok) {
      ctx.modelVersion = String(outcome.version)
      finish(
        ctx,
        200,
        JSON.stringify({
          status: 'success',
          message: outcome.changed
            ? `Reloaded model version ${outcome.version}`
            : `Already serving model version ${outcome.version}; its files verified`,
          model_name: outcome.model,
          model_version: String(outcome.version),
          model_stage: outcome.stage,
          previous_version: outcome.previous === undefined ? null : String(outcome.previous),
          changed: outcome.changed,
        }),
      )
      return
    }
    const still = outcome.serving
    const e = toHttpError(outcome.error)
    fail(
      ctx,
      new HttpError(
        e.code,
        `reload failed: ${outcome.error.message}; ${still ? `still serving ${still.model} v${still.version}` : 'no model loaded'}`,
        {hint: e.hint, details: e.details},
      ),
      {
        status: 'failure',
        model_version: still ? String(still.version) : null,
      },
    )
  }

  const debugMemory = (ctx: Ctx) => {
    allow(ctx, 'GET')
    const m = process.memoryUsage()
    const tfMemory = deps.tf?.memory()
    finish(
      ctx,
      200,
      JSON.stringify({
        rss: m.rss,
        heap_used: m.heapUsed,
        external: m.external,
        array_buffers: m.arrayBuffers,
        tensors: tfMemory?.numTensors ?? null,
        tensor_bytes: tfMemory?.numBytes ?? null,
        // The backend's own buffers: the serving forward pass allocates these directly.
        data_buffers: tfMemory?.numDataBuffers ?? null,
        backend: deps.tf?.getBackend() ?? null,
        in_flight: state.inFlight,
      }),
    )
  }

  const handlers: Endpoints = {
    '/health': health,
    '/metrics': metricsText,
    '/models': models,
    '/predict': predict,
    '/reload-model': reload,
    ...oipEndpoints(kit),
  }

  const run = (ctx: Ctx, handler: Handler) => {
    try {
      const done = handler(ctx)
      if (done) done.catch((err: unknown) => fail(ctx, err))
    } catch (err) {
      fail(ctx, err)
    }
  }

  return createHttpServer((req, res) => {
    const url = req.url ?? '/'
    const ctx: Ctx = {
      req,
      res,
      started: performance.now(),
      method: req.method ?? 'GET',
      url,
      route: matchRoute(url),
      done: false,
    }
    state.inFlight++
    if (countsInFlight(ctx)) metrics.inFlight.inc()
    const handler = ctx.route && handlers[ctx.route.template]
    if (!handler) {
      if (options.debug && url.split('?', 1)[0] === '/debug/memory') return run(ctx, debugMemory)
      if (deps.mount?.(req, res)) {
        ctx.done = true
        // A client that left before the page answered is counted as 499 (client closed request),
        // not as the status that was never sent.
        res.once('close', () => record(ctx, res.writableFinished ? res.statusCode : 499))
        return
      }
      return fail(ctx, new HttpError('NOT_FOUND', `nothing at ${ctx.method} ${url.split('?', 1)[0]}`))
    }
    run(ctx, handler)
  })
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest()
}

function authorize(req: IncomingMessage, tokenDigest: Buffer | undefined): void {
  if (tokenDigest === undefined) return
  const header = req.headers.authorization
  const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header)
  // Comparing digests keeps the time independent of where the strings first differ, and of their lengths.
  if (match && timingSafeEqual(digest(match[1]!), tokenDigest)) return
  throw new HttpError(
    'UNAUTHORIZED',
    header === undefined
      ? 'reloading needs Authorization: Bearer <token>'
      : 'the bearer token is not the one this server was given',
    {headers: {'WWW-Authenticate': 'Bearer realm="morpho"'}},
  )
}
