import {Counter, collectDefaultMetrics, Gauge, Histogram, type Registry} from 'prom-client'
import {matchRoute, PAGE_ENDPOINTS, ROUTE_TEMPLATES, type RouteTemplate} from '../net/routes.js'
import {type CounterSeries, type HistogramSeries, LabelledCounter, LabelledHistogram} from './series.js'

/**
 * The metrics `morpho serve` exposes. The names are the original server's, so its dashboards
 * and alerts keep working, plus the series it lacked (its "no model loaded" alert used
 * `inference_model_loaded`, which never existed). monitoring/rules and monitoring/grafana use
 * exactly these names; a test compares them with what this module registers.
 */

/**
 * The `endpoint` label takes the route templates of src/net/routes.ts, never the raw path: a raw
 * path (the original's choice) gives every scanner probe and every model name its own series,
 * without bound.
 */
export const UNMATCHED = 'unmatched'

export type EndpointLabel = RouteTemplate | typeof UNMATCHED

export const ENDPOINT_LABELS: readonly EndpointLabel[] = [...ROUTE_TEMPLATES, UNMATCHED]

/** The endpoints that monitoring itself calls (scrapes, health checks). */
export const MONITORING_ENDPOINTS: readonly RouteTemplate[] = [
  '/metrics',
  '/health',
  '/v2/health/live',
  '/v2/health/ready',
]

/**
 * Left out of every user-facing request rate, error rate and latency: the alert rules, the
 * dashboards and the page's traffic panel. Scrapes, probes and an open page answer quickly
 * and successfully tens of times a minute, so counting them would dilute a real error rate,
 * hide slow predictions, and make an idle server look busy. monitoring/ writes this list as
 * the regular expression `endpoint!~"<these joined by |>"`; a test holds the two together.
 */
export const EXCLUDED_ENDPOINTS: readonly RouteTemplate[] = [...MONITORING_ENDPOINTS, ...PAGE_ENDPOINTS]

/** Seconds: from half a millisecond (a small forward pass) to ten seconds (far past any SLO). */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
export const LOAD_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
export const BATCH_ROW_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096]

/**
 * Whether the store a server follows can be reached. Only a server following a database store
 * (`serve --store postgres://… --watch`) has it: a folder store is a local disk, never away.
 * monitoring/rules/inference.yml alerts on it (InferenceStoreUnreachable).
 */
export const STORE_UP = 'morpho_store_up'

export function createStoreGauge(registry: Registry): Gauge {
  return new Gauge({
    name: STORE_UP,
    help: 'Whether the store this server follows can be reached (1) or not (0).',
    registers: [registry],
  })
}

export const RELOAD_RESULTS = ['success', 'failure'] as const
export const RELOAD_TRIGGERS = ['startup', 'api', 'watch'] as const
export type ReloadResult = (typeof RELOAD_RESULTS)[number]
export type ReloadTrigger = (typeof RELOAD_TRIGGERS)[number]

/**
 * The `endpoint` label for a request. A path that matches a route keeps the route's template
 * whatever the method, so a 405 counts against the route it was meant for; the method only
 * decides for requests that cannot name a route at all (`OPTIONS *`, `CONNECT host:port`).
 */
export function routeLabel(method: string, target: string): EndpointLabel {
  if (method === 'CONNECT' || target === '*') return UNMATCHED
  return matchRoute(target)?.template ?? UNMATCHED
}

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])

/** The `method` label: the usual methods as sent, anything else as OTHER, so the label stays bounded. */
export function methodLabel(method: string | undefined): string {
  const upper = (method ?? '').toUpperCase()
  return KNOWN_METHODS.has(upper) ? upper : 'OTHER'
}

export interface ModelInfo {
  model: string
  version: string
  /** None, Staging, Production or Archived. */
  stage: string
}

export interface InferenceMetrics {
  registry: Registry
  requests: LabelledCounter<'method' | 'endpoint' | 'status'>
  requestDuration: LabelledHistogram<'endpoint'>
  predictionDuration: Histogram
  loadDuration: Histogram
  modelLoaded: Gauge
  modelInfo: Gauge<'model' | 'version' | 'stage'>
  reloads: Counter<'result' | 'trigger'>
  rowsPredicted: Counter
  batchRows: Histogram
  /** Requests being handled; the gauge reads it when scraped. */
  inFlight: {inc(): void; dec(): void}
  /**
   * Counts one finished request under its route template: `route` when the caller has matched
   * it already, else the template `target` matches.
   */
  observeRequest(request: {
    method: string
    target: string
    route?: RouteTemplate
    status: number
    seconds: number
  }): void
  /** Records the model now serving (or none): model_loaded and a single model_info series. */
  setModel(info: ModelInfo | undefined): void
  /** Counts one load attempt of a model version. */
  recordReload(result: ReloadResult, trigger: ReloadTrigger): void
}

export function createInferenceMetrics(registry: Registry, options: {defaultMetrics?: boolean} = {}): InferenceMetrics {
  const registers = [registry]
  const requests = new LabelledCounter({
    name: 'inference_requests_total',
    help: 'HTTP requests answered, by method, route template and status code.',
    labelNames: ['method', 'endpoint', 'status'] as const,
    registers,
  })
  const requestDuration = new LabelledHistogram({
    name: 'inference_request_duration_seconds',
    help: 'Wall time from request to response, by route template.',
    labelNames: ['endpoint'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  })
  const predictionDuration = new Histogram({
    name: 'model_prediction_duration_seconds',
    help: 'Time of the forward pass alone (no parsing, no queueing).',
    buckets: LATENCY_BUCKETS,
    registers,
  })
  const loadDuration = new Histogram({
    name: 'model_load_duration_seconds',
    help: 'Time to load and check a model version, successful or not.',
    buckets: LOAD_BUCKETS,
    registers,
  })
  const modelLoaded = new Gauge({
    name: 'inference_model_loaded',
    help: '1 while a model is loaded and serving, else 0.',
    registers,
  })
  const modelInfo = new Gauge({
    name: 'inference_model_info',
    help: 'Always 1; its labels name the model version being served.',
    labelNames: ['model', 'version', 'stage'] as const,
    registers,
  })
  const reloads = new Counter({
    name: 'inference_model_reloads_total',
    help: 'Model load attempts, by result and by what triggered them.',
    labelNames: ['result', 'trigger'] as const,
    registers,
  })
  const rowsPredicted = new Counter({
    name: 'inference_rows_predicted_total',
    help: 'Input rows predicted.',
    registers,
  })
  const batchRows = new Histogram({
    name: 'inference_batch_rows',
    help: 'Rows per forward pass (concurrent requests may share one).',
    buckets: BATCH_ROW_BUCKETS,
    registers,
  })
  let inFlightNow = 0
  const inFlight = {
    inc: () => void inFlightNow++,
    dec: () => void inFlightNow--,
  }
  new Gauge({
    name: 'inference_requests_in_flight',
    help: 'Requests being handled right now.',
    registers,
    collect() {
      this.set(inFlightNow)
    },
  })

  // A request's two series, found once per (method, endpoint, status).
  const perRequest = new Map<string, {count: CounterSeries; duration: HistogramSeries}>()

  modelLoaded.set(0)
  // Every reload series exists from the start at 0: increase() over a counter that is born
  // at 1 sees no increase, and the failed-reload alert would miss the first failure.
  for (const result of RELOAD_RESULTS) {
    for (const trigger of RELOAD_TRIGGERS) reloads.inc({result, trigger}, 0)
  }

  if (options.defaultMetrics !== false) collectDefaultMetrics({register: registry})

  return {
    registry,
    requests,
    requestDuration,
    predictionDuration,
    loadDuration,
    modelLoaded,
    modelInfo,
    reloads,
    rowsPredicted,
    batchRows,
    inFlight,
    observeRequest({method, target, route, status, seconds}) {
      const endpoint = route ?? routeLabel(method, target)
      const key = `${method} ${endpoint} ${status}`
      let series = perRequest.get(key)
      if (!series) {
        series = {
          count: requests.series({method: methodLabel(method), endpoint, status: String(status)}),
          duration: requestDuration.series({endpoint}),
        }
        // Methods, routes and status codes are few; the bound only guards against surprises.
        if (perRequest.size < 10_000) perRequest.set(key, series)
      }
      series.count.value++
      series.duration.observe(seconds)
    },
    setModel(info) {
      modelInfo.reset()
      if (info) modelInfo.set({model: info.model, version: info.version, stage: info.stage}, 1)
      modelLoaded.set(info ? 1 : 0)
    },
    recordReload(result, trigger) {
      reloads.inc({result, trigger})
    },
  }
}
