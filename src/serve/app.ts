import {createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {InferenceMetrics} from '../monitoring/inference-metrics.js'
import {createGuard, type GuardOptions} from '../net/guard.js'
import {allowMethods, readBody, writeAnswer} from '../net/http.js'
import {errorBody, HttpError, toHttpError} from '../net/http-error.js'
import {familyOf, matchRoute, ROUTE_FAMILY} from '../net/routes.js'
import type {Tf} from '../tf/backend.js'
import type {Ctx, EndpointKit, Endpoints, Handler} from './endpoint.js'
import type {RequestLogLine, ServeLogger} from './log.js'
import type {ModelHolder, ReloadOutcome} from './model-holder.js'
import {oipEndpoints} from './oip.js'
import {SERVE_DEFAULTS} from './options.js'
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
  /** Who may use which endpoints: the token, the families it guards, the Host names accepted. */
  access?: GuardOptions
  /**
   * Milliseconds a request's headers and body have to arrive (node:http answers 408 and closes
   * beyond); its default of 300 s would let a body that never finishes hold a connection.
   */
  requestTimeoutMs?: number
  /** Connections open at once at most; node:http closes any beyond at once. */
  maxConnections?: number
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
  /** A database store the server follows under --watch: can it be reached now. */
  store?: {location: string; up: boolean; since: string; error?: string}
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
  const guard = createGuard(options.access ?? {})

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
      // The server keeps serving while its store is unreachable; this says so.
      ...(state.store ? {store: state.store} : {}),
      // As the original: seconds since the epoch, as a string.
      timestamp: (Date.now() / 1000).toFixed(3),
    }
    // Ready means able to predict: 503 while there is no model (liveness is /v2/health/live).
    finish(ctx, state.stopping || !current ? 503 : 200, JSON.stringify(body))
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

  const reload = (ctx: Ctx) => {
    allow(ctx, 'POST')
    // A cross-site form can POST text/plain, urlencoded or multipart bodies, but not JSON: so
    // the body is JSON or there is none.
    const typed = ctx.req.headers['content-type'] !== undefined
    if (typed) checkContentType(ctx.req.headers['content-type'])
    readBody(ctx.req, ctx.res, options.maxBodyBytes, (err, body) => {
      if (body === undefined) return fail(ctx, err)
      try {
        if (typed && /\S/.test(body.toString('utf8'))) parseJson(body)
        else if (!typed && body.length > 0) {
          throw new HttpError(
            'UNSUPPORTED_MEDIA_TYPE',
            'a body for /reload-model must be JSON: send Content-Type: application/json, or no body',
          )
        }
      } catch (e) {
        return fail(ctx, e)
      }
      holder.reload('api').then(
        (outcome) => answerReload(ctx, outcome),
        (e: unknown) => fail(ctx, e),
      )
    })
  }

  const answerReload = (ctx: Ctx, outcome: ReloadOutcome) => {
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
      guard(ctx.req, ctx.route && ROUTE_FAMILY[ctx.route.template])
      const done = handler(ctx)
      if (done) done.catch((err: unknown) => fail(ctx, err))
    } catch (err) {
      fail(ctx, err)
    }
  }

  const requestTimeout = options.requestTimeoutMs ?? SERVE_DEFAULTS.requestTimeoutMs
  const server = createHttpServer(
    {
      requestTimeout,
      headersTimeout: requestTimeout,
      // How often node:http looks for requests past their timeout (its default is every 30 s).
      connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(requestTimeout / 4))),
    },
    (req, res) => {
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
      if (handler) return run(ctx, handler)
      const path = url.split('?', 1)[0]!
      try {
        guard(req, familyOf(ctx.route, path))
      } catch (err) {
        return fail(ctx, err)
      }
      if (options.debug && path === '/debug/memory') return run(ctx, debugMemory)
      if (deps.mount?.(req, res)) {
        ctx.done = true
        // A client that left before the page answered is counted as 499 (client closed request),
        // not as the status that was never sent.
        res.once('close', () => record(ctx, res.writableFinished ? res.statusCode : 499))
        return
      }
      fail(ctx, new HttpError('NOT_FOUND', `nothing at ${ctx.method} ${path}`))
    },
  )
  server.maxConnections = options.maxConnections ?? SERVE_DEFAULTS.maxConnections
  return server
}
