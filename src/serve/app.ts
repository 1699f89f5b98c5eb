import {createHash, timingSafeEqual} from 'node:crypto'
import {createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import {
  type InferenceMetrics,
  matchRoute,
  ROUTE_TEMPLATES,
  type RouteMatch,
  type RouteTemplate,
} from '../monitoring/inference-metrics.js'
import {getModel, type RegistryDocument, STAGES} from '../registry/index.js'
import type {Tf} from '../tf/backend.js'
import {badInput, errorBody, HttpError, toHttpError} from './http-error.js'
import type {RequestLogLine, ServeLogger} from './log.js'
import type {ModelHolder, ModelSnapshot} from './model-holder.js'
import type {RegistryView} from './registry-view.js'
import {checkContentType, parseJson, readInferRequest, readPredictRequest, toRows} from './validate.js'

/**
 * The HTTP API of `morpho serve` as an unstarted node:http server: the original's endpoints
 * (/health, /metrics, /models, /predict, /reload-model) with their JSON shapes, and the Open
 * Inference Protocol v2 ones (/v2/...). Listening, signals and the watcher live in serve.ts.
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
  registry: RegistryView
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

interface Ctx {
  req: IncomingMessage
  res: ServerResponse
  started: number
  method: string
  url: string
  route: RouteMatch | undefined
  rows?: number
  modelVersion?: string
  done: boolean
}

const JSON_TYPE = 'application/json; charset=utf-8'

// The fixed paths, without the general matcher's split-and-compare.
const STATIC_ROUTES = new Map<string, RouteMatch>(
  ROUTE_TEMPLATES.filter((t) => !t.includes('{')).map((t) => [t, {template: t, params: {}}]),
)

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
    const {res} = ctx
    if (!res.headersSent && !res.destroyed) {
      // The flat [name, value, ...] form: node:http takes it without walking an object.
      const head: (string | number)[] = [
        'Content-Type',
        extra?.type ?? JSON_TYPE,
        'Content-Length',
        Buffer.byteLength(body),
      ]
      if (extra?.headers) for (const [name, value] of Object.entries(extra.headers)) head.push(name, value)
      if (state.stopping) head.push('Connection', 'close')
      res.writeHead(status, head as unknown as string[])
      res.end(ctx.method === 'HEAD' ? undefined : body)
    }
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

  const allow = (ctx: Ctx, ...methods: ('GET' | 'POST')[]) => {
    const ok = methods.includes(ctx.method as 'GET') || (ctx.method === 'HEAD' && methods.includes('GET'))
    if (ok) return
    const allowed = methods.includes('GET') ? [...methods, 'HEAD'] : methods
    throw new HttpError(
      405,
      'METHOD_NOT_ALLOWED',
      `${ctx.method} is not allowed on ${ctx.route?.template ?? ctx.url.split('?', 1)[0]}; use ${allowed.join(' or ')}`,
      {Allow: allowed.join(', ')},
    )
  }

  /** The whole body, then `done`, once: with the bytes, or with the error that ended the read. */
  const readBody = (ctx: Ctx, done: (err: unknown, body?: Buffer) => void): void => {
    const {req} = ctx
    const limit = options.maxBodyBytes
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
        ctx.res.shouldKeepAlive = false
        settle(tooLarge(size, limit, true))
        return
      }
      chunks.push(chunk)
    }
    req.on('data', onData)
    req.once('end', () => settle(undefined, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)))
    const cut = () => settle(badInput('the connection closed before the body was complete'))
    req.once('error', cut)
    // Whatever ends the request early (an aborted upload, a timeout), it must not stay in
    // flight: a pending body would hold up a shutdown until its timeout.
    req.once('close', () => {
      if (!req.complete) cut()
    })
  }

  /**
   * Reads and parses a JSON body, then hands it to `then`. Whatever goes wrong, in the read or
   * in `then` (thrown or rejected), is answered as an error.
   */
  const withJson = (ctx: Ctx, then: (body: unknown) => void | Promise<void>): void => {
    checkContentType(ctx.req.headers['content-type'])
    readBody(ctx, (err, body) => {
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

  /**
   * Reads a request's rows for a snapshot with `read`, runs them through its batcher and
   * answers with `render`. The snapshot is released once the answer is written, or at once when
   * the rows never reach the batcher (a bad request).
   */
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
      503,
      'NO_MODEL',
      'no model loaded: promote a version (morpho promote Production --version N), then POST /reload-model or run the server with --watch',
    )

  const predict = (ctx: Ctx) => {
    allow(ctx, 'POST')
    withJson(ctx, (body) => {
      const request = readPredictRequest(body)
      const answer = (snapshot: ModelSnapshot) =>
        answerRows(
          ctx,
          snapshot,
          () => toRows(request.value, request.field, limitsOf(snapshot)),
          ({n}, probs, ms) => predictionJson(snapshot, probs, n, ms, request.field),
        )
      if (request.modelVersion !== undefined) return holder.acquireVersion(request.modelVersion).then(answer)
      const snapshot = holder.acquire()
      if (!snapshot) throw noModel()
      answer(snapshot)
    })
  }

  const limitsOf = (snapshot: ModelSnapshot) => ({
    inputDim: snapshot.inputDim,
    maxRows: options.maxBatchRows,
    model: snapshot.label,
  })

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
    finish(ctx, 200, JSON.stringify(modelsView(doc, holder)))
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
        e.status,
        e.code,
        `reload failed: ${outcome.error.message}; ${still ? `still serving ${still.model} v${still.version}` : 'no model loaded'}`,
      ),
      {
        status: 'failure',
        model_version: still ? String(still.version) : null,
      },
    )
  }

  // ---- Open Inference Protocol v2 ----------------------------------------------------------

  const v2Server = (ctx: Ctx) => {
    allow(ctx, 'GET')
    finish(ctx, 200, JSON.stringify({name: 'morpho', version: options.morphoVersion, extensions: []}))
  }

  const v2Live = (ctx: Ctx) => {
    allow(ctx, 'GET')
    finish(ctx, 200, '{"live":true}')
  }

  const v2Ready = (ctx: Ctx) => {
    allow(ctx, 'GET')
    if (holder.current && !state.stopping) finish(ctx, 200, '{"ready":true}')
    else
      fail(ctx, state.stopping ? new HttpError(503, 'SHUTTING_DOWN', 'the server is stopping') : noModel(), {
        ready: false,
      })
  }

  /** The snapshot a /v2/models/{name}[/versions/{version}] path names, acquired. */
  const v2Model = async (ctx: Ctx): Promise<ModelSnapshot> => {
    const {name, version} = ctx.route!.params
    const served = holder.modelName
    if (served === undefined || name !== served) {
      throw new HttpError(
        404,
        'NOT_FOUND',
        `unknown model "${name}"${served ? `; this server serves "${served}"` : ''}`,
      )
    }
    if (version !== undefined) return holder.acquireVersion(version)
    const snapshot = holder.acquire()
    if (!snapshot) throw noModel()
    return snapshot
  }

  const v2ModelReady = async (ctx: Ctx) => {
    allow(ctx, 'GET')
    const snapshot = await v2Model(ctx)
    snapshot.release()
    finish(ctx, 200, '{"ready":true}')
  }

  const v2Metadata = async (ctx: Ctx) => {
    allow(ctx, 'GET')
    const snapshot = await v2Model(ctx)
    try {
      const doc = await deps.registry.read()
      const record = getModel(doc, snapshot.name)
      finish(
        ctx,
        200,
        JSON.stringify({
          name: snapshot.name,
          versions: record ? record.versions.map((v) => String(v.version)) : [String(snapshot.version)],
          platform: 'morpho',
          inputs: [{name: 'input', datatype: 'FP32', shape: [-1, snapshot.inputDim]}],
          outputs: [
            {name: 'probabilities', datatype: 'FP32', shape: [-1, snapshot.forward.numClasses]},
            {name: 'predictions', datatype: labelType(snapshot.classes), shape: [-1]},
          ],
          ...(ctx.route!.params.version === undefined ? {} : {version: String(snapshot.version)}),
        }),
      )
    } finally {
      snapshot.release()
    }
  }

  const v2Infer = (ctx: Ctx) => {
    allow(ctx, 'POST')
    withJson(ctx, async (body) => {
      const snapshot = await v2Model(ctx)
      answerRows(
        ctx,
        snapshot,
        () => readInferRequest(body, limitsOf(snapshot)),
        ({n, outputs, id}, probs) => inferJson(snapshot, probs, n, outputs, id),
      )
    })
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

  const handlers: Partial<Record<RouteTemplate, (ctx: Ctx) => void | Promise<void>>> = {
    '/health': health,
    '/metrics': metricsText,
    '/models': models,
    '/predict': predict,
    '/reload-model': reload,
    '/v2': v2Server,
    '/v2/health/live': v2Live,
    '/v2/health/ready': v2Ready,
    '/v2/models/{name}': v2Metadata,
    '/v2/models/{name}/ready': v2ModelReady,
    '/v2/models/{name}/versions/{version}/ready': v2ModelReady,
    '/v2/models/{name}/versions/{version}': v2Metadata,
    '/v2/models/{name}/infer': v2Infer,
    '/v2/models/{name}/versions/{version}/infer': v2Infer,
  }

  const server = createHttpServer((req, res) => {
    const url = req.url ?? '/'
    const ctx: Ctx = {
      req,
      res,
      started: performance.now(),
      method: req.method ?? 'GET',
      url,
      route: STATIC_ROUTES.get(url) ?? matchRoute(url),
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
      return fail(ctx, new HttpError(404, 'NOT_FOUND', `nothing at ${ctx.method} ${url.split('?', 1)[0]}`))
    }
    run(ctx, handler)
  })

  const run = (ctx: Ctx, handler: (ctx: Ctx) => void | Promise<void>) => {
    try {
      const done = handler(ctx)
      if (done) done.catch((err: unknown) => fail(ctx, err))
    } catch (err) {
      fail(ctx, err)
    }
  }

  return server
}

function tooLarge(size: number, limit: number, streaming = false): HttpError {
  const what = streaming ? `more than ${limit}` : String(size)
  return new HttpError(413, 'PAYLOAD_TOO_LARGE', `the body is ${what} bytes; this server takes at most ${limit}`)
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
    401,
    'UNAUTHORIZED',
    header === undefined
      ? 'reloading needs Authorization: Bearer <token>'
      : 'the bearer token is not the one this server was given',
    {'WWW-Authenticate': 'Bearer realm="morpho"'},
  )
}

/**
 * {"predictions", "probabilities", "model_version", "inference_time_ms"}, written directly: at a
 * row or a few per request, building the text costs less than arrays for JSON.stringify.
 */
function predictionJson(snapshot: ModelSnapshot, probs: Float32Array, n: number, ms: number, field: string): string {
  const k = snapshot.forward.numClasses
  const classes = snapshot.classes
  let predictions = ''
  let probabilities = ''
  for (let r = 0; r < n; r++) {
    const base = r * k
    let best = 0
    let row = ''
    for (let j = 0; j < k; j++) {
      const p = probs[base + j]!
      if (!(p >= 0 && p <= 1)) {
        throw badInput(
          `${field}[${r}] gives non-finite probabilities: its features are too far out of range for this model`,
        )
      }
      if (p > probs[base + best]!) best = j
      row += j === 0 ? p : `,${p}`
    }
    predictions += r === 0 ? classes[best] : `,${classes[best]}`
    probabilities += r === 0 ? `[${row}]` : `,[${row}]`
  }
  const time = Math.round(ms * 1000) / 1000
  return `{"predictions":[${predictions}],"probabilities":[${probabilities}],"model_version":"${snapshot.version}","inference_time_ms":${time}}`
}

function inferJson(
  snapshot: ModelSnapshot,
  probs: Float32Array,
  n: number,
  outputs: readonly string[],
  id: string | undefined,
): string {
  const k = snapshot.forward.numClasses
  const out: object[] = []
  for (const name of outputs) {
    if (name === 'probabilities') {
      for (const p of probs) {
        if (!(p >= 0 && p <= 1))
          throw badInput('inputs[0] gives non-finite probabilities: features too far out of range')
      }
      out.push({name, shape: [n, k], datatype: 'FP32', data: Array.from(probs)})
    } else {
      const labels = new Array<number>(n)
      for (let r = 0; r < n; r++) {
        let best = 0
        for (let j = 1; j < k; j++) if (probs[r * k + j]! > probs[r * k + best]!) best = j
        labels[r] = snapshot.classes[best]!
      }
      out.push({name, shape: [n], datatype: labelType(snapshot.classes), data: labels})
    }
  }
  return JSON.stringify({
    model_name: snapshot.name,
    model_version: String(snapshot.version),
    ...(id === undefined ? {} : {id}),
    outputs: out,
  })
}

function labelType(classes: number[]): 'INT64' | 'FP64' {
  return classes.every((c) => Number.isInteger(c)) ? 'INT64' : 'FP64'
}

/** GET /models: the original's three fields, plus stages, aliases and what is loaded. */
export function modelsView(doc: RegistryDocument, holder: ModelHolder) {
  const current = holder.current
  const names = Object.keys(doc.models).sort()
  let name = holder.modelName
  if (name === undefined && names.length === 1) name = names[0]
  const record = name === undefined ? undefined : getModel(doc, name)
  const stages = Object.fromEntries(STAGES.map((s) => [s, [] as string[]]))
  const aliases: Record<string, string> = {}
  let available: string[] = []
  if (record) {
    available = record.versions.map((v) => String(v.version)).reverse()
    for (const v of record.versions) stages[v.stage]!.push(String(v.version))
    for (const alias of Object.keys(record.aliases).sort()) aliases[alias] = String(record.aliases[alias])
  }
  const last = holder.lastReload
  return {
    model_name: name ?? null,
    current_version: current && current.name === name ? String(current.version) : null,
    current_stage: current?.stage ?? null,
    loaded_at: current?.loadedAt ?? null,
    available_versions: available,
    stages,
    aliases,
    models: names,
    last_reload: last
      ? {
          trigger: last.trigger,
          at: last.at,
          result: last.ok ? 'success' : 'failure',
          ...(last.ok ? {version: String(last.version)} : {error: last.error.message}),
        }
      : null,
  }
}
