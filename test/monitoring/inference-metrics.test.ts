import {Registry} from 'prom-client'
import {describe, expect, it} from 'vitest'
import {
  createInferenceMetrics,
  ENDPOINT_LABELS,
  EXCLUDED_ENDPOINTS,
  MONITORING_ENDPOINTS,
  methodLabel,
  routeLabel,
} from '../../src/monitoring/inference-metrics.js'
import {PAGE_ENDPOINTS, ROUTE_TEMPLATES} from '../../src/net/routes.js'
import {labelNamesOf, parseExposition} from './helpers/exposition.js'

const LATENCY = [
  '0.0005',
  '0.001',
  '0.0025',
  '0.005',
  '0.01',
  '0.025',
  '0.05',
  '0.1',
  '0.25',
  '0.5',
  '1',
  '2.5',
  '5',
  '10',
  '+Inf',
]

describe('routeLabel: the endpoint label is the route template', () => {
  it.each([
    ['GET', '/', '/'],
    ['GET', '/health', '/health'],
    ['GET', '/metrics', '/metrics'],
    ['GET', '/models', '/models'],
    ['POST', '/predict', '/predict'],
    ['POST', '/reload-model', '/reload-model'],
    ['GET', '/v2', '/v2'],
    ['GET', '/v2/health/live', '/v2/health/live'],
    ['GET', '/v2/health/ready', '/v2/health/ready'],
    ['GET', '/v2/models/spirals', '/v2/models/{name}'],
    ['GET', '/v2/models/spirals/ready', '/v2/models/{name}/ready'],
    ['POST', '/v2/models/spirals/infer', '/v2/models/{name}/infer'],
    ['GET', '/v2/models/spirals/versions/3', '/v2/models/{name}/versions/{version}'],
    ['POST', '/v2/models/x/versions/3/infer', '/v2/models/{name}/versions/{version}/infer'],
    ['GET', '/api/runs', '/api/{resource}'],
    ['GET', '/api/runs/moons-20261129-143509-42c876', '/api/runs/{id}'],
    ['GET', '/api/runs/moons-20261129-143509-42c876/boundary', '/api/runs/{id}/boundary'],
    ['GET', '/api/served/boundary', '/api/served/boundary'],
    ['GET', '/assets/index-3f2a.js', '/assets/{file}'],
  ])('%s %s -> %s', (method, path, label) => {
    expect(routeLabel(method, path)).toBe(label)
  })

  it('ignores the query string and the fragment', () => {
    expect(routeLabel('POST', '/predict?verbose=1')).toBe('/predict')
    expect(routeLabel('GET', '/v2/models/moons/versions/12?x=/infer')).toBe('/v2/models/{name}/versions/{version}')
    expect(routeLabel('GET', '/health#top')).toBe('/health')
    expect(routeLabel('GET', '/?a=b')).toBe('/')
  })

  it('labels every path that names no route "unmatched", so scanners add no series', () => {
    for (const path of [
      '/wp-login.php',
      '/health/',
      '/predict/extra',
      '/v2/models/',
      '/v2/models//infer',
      '/v2/models/a/versions/1/infer/more',
      '/assets/js/app.js',
      '/PREDICT',
      '',
      'predict',
    ]) {
      expect(routeLabel('GET', path), path).toBe('unmatched')
    }
    expect(routeLabel('OPTIONS', '*')).toBe('unmatched')
  })

  it('keeps the route for a method the route does not answer, so a 405 counts against it', () => {
    expect(routeLabel('GET', '/predict')).toBe('/predict')
    expect(routeLabel('DELETE', '/models')).toBe('/models')
  })

  it('reads the path of an absolute-form target', () => {
    expect(routeLabel('GET', 'http://morpho:8080/health?x=1')).toBe('/health')
    expect(routeLabel('GET', 'http://morpho:8080')).toBe('/')
  })

  it('lists every label value, unmatched last', () => {
    expect(ENDPOINT_LABELS).toEqual([...ROUTE_TEMPLATES, 'unmatched'])
    // No template listed twice.
    expect(new Set(ENDPOINT_LABELS).size).toBe(ENDPOINT_LABELS.length)
  })

  it('leaves out of user traffic the monitoring endpoints and every route of the page, and nothing else', () => {
    // The page handler claims / and everything under /assets/ and /api/: a page route added to
    // the templates without joining the list would count the page's polling as user traffic.
    expect([...PAGE_ENDPOINTS].sort()).toEqual(
      ROUTE_TEMPLATES.filter((t) => t === '/' || /^\/(assets|api)\//.test(t)).sort(),
    )
    expect(MONITORING_ENDPOINTS).toEqual(['/metrics', '/health', '/v2/health/live', '/v2/health/ready'])
    expect(EXCLUDED_ENDPOINTS).toEqual([...MONITORING_ENDPOINTS, ...PAGE_ENDPOINTS])
    const user = ENDPOINT_LABELS.filter((l) => !(EXCLUDED_ENDPOINTS as readonly string[]).includes(l))
    expect(user).toEqual([
      '/models',
      '/predict',
      '/reload-model',
      '/v2',
      '/v2/models/{name}',
      '/v2/models/{name}/ready',
      '/v2/models/{name}/infer',
      '/v2/models/{name}/versions/{version}',
      '/v2/models/{name}/versions/{version}/infer',
      '/v2/models/{name}/versions/{version}/ready',
      'unmatched',
    ])
  })

  it('keeps the method label bounded', () => {
    expect(methodLabel('get')).toBe('GET')
    expect(methodLabel('POST')).toBe('POST')
    expect(methodLabel('PROPFIND')).toBe('OTHER')
    expect(methodLabel(undefined)).toBe('OTHER')
  })
})

describe('createInferenceMetrics', () => {
  it('registers exactly the serving metrics, with their types and labels', async () => {
    const registry = new Registry()
    const m = createInferenceMetrics(registry, {defaultMetrics: false})
    m.observeRequest({method: 'POST', target: '/predict?x=1', status: 200, seconds: 0.003})
    m.observeRequest({method: 'GET', target: '/v2/models/spirals/versions/2', status: 404, seconds: 0.0004})
    m.predictionDuration.observe(0.002)
    m.loadDuration.observe(0.3)
    m.setModel({model: 'spirals', version: '3', stage: 'Production'})
    m.recordReload('success', 'startup')
    m.rowsPredicted.inc(16)
    m.batchRows.observe(16)
    m.inFlight.inc()

    const families = parseExposition(await registry.metrics())
    const shape = Object.fromEntries([...families.values()].map((f) => [f.name, [f.type, labelNamesOf(f)]]))
    expect(shape).toEqual({
      inference_requests_total: ['counter', ['endpoint', 'method', 'status']],
      inference_request_duration_seconds: ['histogram', ['endpoint']],
      model_prediction_duration_seconds: ['histogram', []],
      model_load_duration_seconds: ['histogram', []],
      inference_model_loaded: ['gauge', []],
      inference_model_info: ['gauge', ['model', 'stage', 'version']],
      inference_model_reloads_total: ['counter', ['result', 'trigger']],
      inference_rows_predicted_total: ['counter', []],
      inference_batch_rows: ['histogram', []],
      inference_requests_in_flight: ['gauge', []],
    })

    const requests = families.get('inference_requests_total')!.samples.map((s) => [s.labels, s.value])
    expect(requests).toEqual([
      [{method: 'POST', endpoint: '/predict', status: '200'}, 1],
      [{method: 'GET', endpoint: '/v2/models/{name}/versions/{version}', status: '404'}, 1],
    ])
  })

  it('uses the agreed buckets', async () => {
    const registry = new Registry()
    createInferenceMetrics(registry, {defaultMetrics: false})
    const families = parseExposition(await registry.metrics())
    const les = (name: string) =>
      families
        .get(name)!
        .samples.filter((s) => s.name === `${name}_bucket`)
        .map((s) => s.labels.le)
    expect(les('model_prediction_duration_seconds')).toEqual(LATENCY)
    expect(les('model_load_duration_seconds')).toEqual([
      '0.005',
      '0.01',
      '0.025',
      '0.05',
      '0.1',
      '0.25',
      '0.5',
      '1',
      '2.5',
      '5',
      '10',
      '30',
      '+Inf',
    ])
    expect(les('inference_batch_rows')).toEqual([
      '1',
      '2',
      '4',
      '8',
      '16',
      '32',
      '64',
      '128',
      '256',
      '512',
      '1024',
      '4096',
      '+Inf',
    ])

    const m = createInferenceMetrics(new Registry(), {defaultMetrics: false})
    m.requestDuration.observe({endpoint: '/predict'}, 0.02)
    const request = parseExposition(await m.registry.metrics()).get('inference_request_duration_seconds')!
    expect(request.samples.filter((s) => s.name.endsWith('_bucket')).map((s) => s.labels.le)).toEqual(LATENCY)
  })

  it('starts with no model and every reload series at 0, so the first failure shows as an increase', async () => {
    const registry = new Registry()
    const m = createInferenceMetrics(registry, {defaultMetrics: false})
    let families = parseExposition(await registry.metrics())
    expect(families.get('inference_model_loaded')!.samples).toEqual([
      {name: 'inference_model_loaded', labels: {}, value: 0},
    ])
    expect(families.get('inference_model_info')!.samples).toEqual([])
    const reloads = families.get('inference_model_reloads_total')!.samples
    expect(reloads.map((s) => `${s.labels.result}/${s.labels.trigger}=${s.value}`).sort()).toEqual([
      'failure/api=0',
      'failure/startup=0',
      'failure/watch=0',
      'success/api=0',
      'success/startup=0',
      'success/watch=0',
    ])

    m.recordReload('failure', 'watch')
    families = parseExposition(await registry.metrics())
    const failed = families
      .get('inference_model_reloads_total')!
      .samples.find((s) => s.labels.result === 'failure' && s.labels.trigger === 'watch')
    expect(failed?.value).toBe(1)
  })

  it('keeps one model_info series: the model being served, or none', async () => {
    const registry = new Registry()
    const m = createInferenceMetrics(registry, {defaultMetrics: false})
    const info = async () => {
      const f = parseExposition(await registry.metrics())
      return {
        loaded: f.get('inference_model_loaded')!.samples[0]!.value,
        info: f.get('inference_model_info')!.samples.map((s) => [s.labels, s.value]),
      }
    }
    m.setModel({model: 'spirals', version: '3', stage: 'Production'})
    expect(await info()).toEqual({loaded: 1, info: [[{model: 'spirals', version: '3', stage: 'Production'}, 1]]})
    m.setModel({model: 'spirals', version: '4', stage: 'Production'})
    expect(await info()).toEqual({loaded: 1, info: [[{model: 'spirals', version: '4', stage: 'Production'}, 1]]})
    m.setModel(undefined)
    expect(await info()).toEqual({loaded: 0, info: []})
  })

  it("adds prom-client's process metrics unless told not to, on its own registry only", async () => {
    const withDefaults = new Registry()
    createInferenceMetrics(withDefaults)
    const names = (await withDefaults.getMetricsAsJSON()).map((m) => m.name)
    expect(names).toEqual(
      expect.arrayContaining([
        'process_cpu_seconds_total',
        'process_resident_memory_bytes',
        'nodejs_heap_size_used_bytes',
        'nodejs_eventloop_lag_p99_seconds',
        'inference_requests_total',
      ]),
    )

    // A second server in the same process (tests do this) gets its own, clean registry.
    const without = new Registry()
    createInferenceMetrics(without, {defaultMetrics: false})
    const bare = (await without.getMetricsAsJSON()).map((m) => m.name)
    expect(bare.some((n) => n.startsWith('process_') || n.startsWith('nodejs_'))).toBe(false)
    expect(bare).toHaveLength(10)
  })
})
