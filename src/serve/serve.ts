import type {IncomingMessage, Server, ServerResponse} from 'node:http'
import {Registry} from 'prom-client'
import type {BackendRequest} from '../config.js'
import {createInferenceMetrics, createStoreGauge, type InferenceMetrics} from '../monitoring/inference-metrics.js'
import {isLoopback} from '../net/guard.js'
import {listen} from '../net/listen.js'
import {DEFAULT_PROTECTED, type RouteFamily} from '../net/routes.js'
import type {Follower, Store} from '../store/store.js'
import {loadTf, type Tf} from '../tf/backend.js'
import {createUiHandler} from '../ui/handler.js'
import {createServer, createServerState, type ServerState} from './app.js'
import type {PredictorChoice} from './forward.js'
import {createLogger, type ServeLogger} from './log.js'
import {ModelHolder, type ModelTarget} from './model-holder.js'
import {SERVE_DEFAULTS} from './options.js'
import {RegistryCache} from './registry-cache.js'
import {WatchPolicy, watchRegistry} from './watch.js'

/**
 * `morpho serve`: load the model, listen, follow the registry with --watch, and stop cleanly.
 * Stopping (SIGTERM, SIGINT or stop()) closes the listening socket, lets every request in flight
 * finish on its model, closes keep-alive connections as they go idle, and resolves.
 */

export {SERVE_DEFAULTS} from './options.js'

export interface ServeOptions {
  store: Store
  target?: ModelTarget
  /** Default 127.0.0.1: the server is not opened to the network unless asked for. */
  host?: string
  /** Default 8080; 0 picks a free port. */
  port?: number
  watch?: boolean
  watchIntervalMs?: number
  /** Needed by the families in `protect` (default management and the page); none: nothing guarded. */
  token?: string
  protect?: readonly RouteFamily[]
  /** Host names the page and management endpoints answer for, besides IP addresses and localhost. */
  allowedHosts?: readonly string[]
  maxBodyBytes?: number
  maxBatchRows?: number
  backend?: BackendRequest
  predictor?: PredictorChoice
  /** Default true: requests arriving together share one forward pass. */
  microBatching?: boolean
  /** After this long, connections still open at shutdown are closed. */
  shutdownTimeoutMs?: number
  /** Milliseconds a request's headers and body have to arrive (408 beyond; default 30 s). */
  requestTimeoutMs?: number
  /** Connections open at once at most (default 1024); more are closed as they come. */
  maxConnections?: number
  debug?: boolean
  morphoVersion: string
  logger?: ServeLogger
  /** Default true: prom-client's process metrics (CPU, memory, event loop, GC). */
  defaultMetrics?: boolean
  /** Stop on SIGTERM and SIGINT (the command sets this; embedding code stops with stop()). */
  handleSignals?: boolean
  /**
   * The web page (runs, registry, the served model) at / with its API under /api/. Default: on
   * when bound to loopback, off otherwise (it shows the whole store).
   */
  ui?: boolean
  /** Another request handler, tried before the 404 instead of the page (see AppDeps.mount). */
  mount?: (req: IncomingMessage, res: ServerResponse) => boolean
}

export interface ServeSummary {
  url: string
  /** What stopped the server: "SIGTERM", "SIGINT" or the reason given to stop(). */
  reason: string
  requests: number
  /** False when the shutdown timeout closed connections that were still busy. */
  drained: boolean
  /** Requests cut off by the shutdown timeout. */
  unfinished: number
  seconds: number
}

export interface Serving {
  url: string
  host: string
  port: number
  server: Server
  holder: ModelHolder
  metrics: InferenceMetrics
  state: ServerState
  tf?: Tf
  stop(reason?: string): Promise<ServeSummary>
  /** Settles when the server has stopped, whoever stopped it. */
  stopped: Promise<ServeSummary>
}

export async function startServing(options: ServeOptions): Promise<Serving> {
  const started = performance.now()
  const logger = options.logger ?? createLogger()
  const host = options.host ?? SERVE_DEFAULTS.host
  const target = options.target ?? {}
  const choice = options.predictor ?? 'auto'
  const metrics = createInferenceMetrics(new Registry(), {defaultMetrics: options.defaultMetrics})
  const registry = new RegistryCache(options.store)

  let tf: Tf | undefined
  if (choice !== 'js') {
    try {
      const loaded = await loadTf(options.backend ?? 'auto')
      tf = loaded.tf
      const simd = loaded.backend.simd === undefined ? '' : loaded.backend.simd ? ' (SIMD)' : ' (no SIMD)'
      logger.info(`TF.js backend ${loaded.backend.name}${simd}`)
    } catch (err) {
      if (choice === 'tfjs') throw err
      logger.warn(`TF.js did not load (${(err as Error).message}); predicting in JavaScript`)
    }
  }

  const holder = new ModelHolder({
    store: options.store,
    registry,
    target,
    forward: {tf, choice},
    metrics,
    logger,
    microBatching: options.microBatching ?? true,
  })
  const first = await holder.reload('startup')
  if (!first.ok) {
    const waits =
      first.error.code !== 'USAGE' &&
      (options.watch || (first.error.code === 'NOT_FOUND' && target.version === undefined))
    if (!waits) {
      holder.close()
      throw first.error
    }
  }

  const state = createServerState()
  const local = isLoopback(host)
  const ui = options.ui ?? local
  const mount =
    options.mount ??
    (!ui
      ? undefined
      : createUiHandler({
          store: options.store,
          served: () => holder.current,
          metricsText: () => metrics.registry.metrics(),
          version: options.morphoVersion,
        }))
  const server = createServer({
    holder,
    metrics,
    registry,
    logger,
    state,
    tf,
    mount,
    options: {
      maxBodyBytes: options.maxBodyBytes ?? SERVE_DEFAULTS.maxBodyBytes,
      maxBatchRows: options.maxBatchRows ?? SERVE_DEFAULTS.maxBatchRows,
      access: {token: options.token, protect: options.protect, allowedHosts: options.allowedHosts, boundHost: host},
      requestTimeoutMs: options.requestTimeoutMs,
      maxConnections: options.maxConnections,
      debug: options.debug,
      morphoVersion: options.morphoVersion,
    },
  })
  const requested = options.port ?? SERVE_DEFAULTS.port
  let port: number
  let url: string
  try {
    ;({port, origin: url} = await listen(server, {port: requested, host, what: 'serve'}))
  } catch (err) {
    holder.close()
    throw err
  }

  let watcher: {close(): unknown} | undefined
  if (options.watch && options.store.registry.follow) {
    const policy = new WatchPolicy(holder)
    watcher = await followStore(options.store, state, metrics, logger, {
      pollMs: options.watchIntervalMs ?? SERVE_DEFAULTS.watchIntervalMs,
      onChange: () => policy.sync(),
    })
  } else if (options.watch) {
    const policy = new WatchPolicy(holder)
    watcher = await watchRegistry({
      registryFile: options.store.registry.file ?? options.store.location,
      intervalMs: options.watchIntervalMs ?? SERVE_DEFAULTS.watchIntervalMs,
      signature: () => registry.signatureNow(),
      onChange: () => policy.sync(),
      onError: (err) => logger.warn(`watch: ${(err as Error).message}`),
    })
    // A promotion between the start-up load and the watcher's first signature would go unseen.
    void policy.sync()
  }

  if (!local) {
    if (options.ui === undefined)
      logger.info(`the web page is off on ${host}, which is not loopback (--ui turns it on)`)
    if (options.token === undefined) {
      const open = [...(options.protect ?? DEFAULT_PROTECTED)].filter((f) => f !== 'page' || ui)
      logger.warn(
        `listening on ${host} without a token: ${open.join(' and ')} endpoints are open to anyone who can reach ${url}; give --token (or MORPHO_TOKEN)`,
      )
    }
  }
  const what = holder.current ? `${holder.current.label} (${holder.current.stage})` : 'no model yet'
  logger.info(
    `listening on ${url}, serving ${what}${options.watch ? `, watching ${options.store.registry.file ?? options.store.location}` : ''} (ready in ${Math.round(performance.now() - started)} ms)`,
  )

  let resolveStopped!: (summary: ServeSummary) => void
  const stopped = new Promise<ServeSummary>((resolve) => {
    resolveStopped = resolve
  })
  let stopping: Promise<ServeSummary> | undefined
  // Requests cut off while stopping, by the shutdown timeout or a second signal.
  let unfinished = 0
  const cutOff = (why: string) => {
    unfinished = Math.max(unfinished, state.inFlight)
    logger.warn(`${why}: closing connections with ${state.inFlight} request(s) unfinished`)
    server.closeAllConnections()
  }

  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      cutOff(`${signal} again`)
      return
    }
    void stop(signal)
  }
  if (options.handleSignals) {
    process.on('SIGTERM', onSignal)
    process.on('SIGINT', onSignal)
  }

  const stop = (reason = 'stop'): Promise<ServeSummary> => {
    if (stopping) return stopping
    stopping = (async () => {
      state.stopping = true
      watcher?.close()
      logger.info(`stopping (${reason}): no new connections; ${state.inFlight} request(s) in flight`)
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      // Keep-alive connections that go idle while draining are closed as they do.
      const sweep = setInterval(() => server.closeIdleConnections(), 50)
      server.closeIdleConnections()
      const timeout = setTimeout(
        () => cutOff('shutdown timeout'),
        options.shutdownTimeoutMs ?? SERVE_DEFAULTS.shutdownTimeoutMs,
      )
      await closed
      clearInterval(sweep)
      clearTimeout(timeout)
      holder.close()
      if (options.handleSignals) {
        process.off('SIGTERM', onSignal)
        process.off('SIGINT', onSignal)
      }
      const summary: ServeSummary = {
        url,
        reason,
        requests: state.handled,
        drained: unfinished === 0,
        unfinished,
        seconds: Math.round(performance.now() - started) / 1000,
      }
      logger.info(
        `stopped: ${summary.requests} request(s) answered${unfinished ? `, ${unfinished} cut off unfinished` : ''}`,
      )
      resolveStopped(summary)
      return summary
    })()
    return stopping
  }

  return {url, host, port, server, holder, metrics, state, tf, stop, stopped}
}

/**
 * --watch on a database store: its notifications (and a slow poll) drive the watch policy, and
 * whether the store can be reached shows in /health (`store`) and in `morpho_store_up`. The
 * model being served keeps answering while the store is away.
 */
async function followStore(
  store: Store,
  state: ServerState,
  metrics: InferenceMetrics,
  logger: ServeLogger,
  options: {pollMs: number; onChange(): Promise<unknown>},
): Promise<Follower> {
  const gauge = createStoreGauge(metrics.registry)
  gauge.set(0)
  state.store = {location: store.location, up: false, since: new Date().toISOString()}
  return store.registry.follow!({
    pollMs: options.pollMs,
    onChange: options.onChange,
    onStatus(up, error) {
      state.store = {location: store.location, up, since: new Date().toISOString(), ...(error ? {error} : {})}
      gauge.set(up ? 1 : 0)
      if (up) logger.info(`store ${store.location} reachable; following its promotions`)
      else logger.warn(`store unreachable (${error}); still serving what is loaded, reconnecting`)
    },
  })
}
