import type {ServerResponse} from 'node:http'
import {request as httpRequest} from 'node:http'
import type {AddressInfo} from 'node:net'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {setAlias} from '../../src/registry/index.js'
import {predictLocal} from '../../src/serve/predict.js'
import type {Serving} from '../../src/serve/serve.js'
import {FolderStore} from '../../src/store/folder/folder-store.js'
import {tempDir} from '../helpers/cli.js'
import {parseExposition} from '../monitoring/helpers/exposition.js'
import {call, halfSentPredict, startTestServer, type TrainedStore, trainedStore} from './helpers.js'

interface Prediction {
  predictions: number[]
  probabilities: number[][]
  model_version: string
  inference_time_ms: number
}

interface ErrorAnswer {
  error: string
  code: string
  detail: string
}

const ROWS = [
  [0.5, -1.2, 0.3],
  [4, 4, -1],
  [0, 0, 0],
]

describe('morpho serve: endpoints on a real server', () => {
  let store: TrainedStore
  let server: Serving
  let url: string

  beforeAll(async () => {
    store = await trainedStore(2)
    await setAlias(store.store, {alias: 'champion', version: 2})
    server = await startTestServer(store.store, {maxBatchRows: 64, maxBodyBytes: 4096})
    url = server.url
  })
  afterAll(async () => {
    await server?.stop()
    await store?.cleanup()
  })

  it('listens on 127.0.0.1 unless told otherwise', () => {
    expect(server.host).toBe('127.0.0.1')
    expect((server.server.address() as AddressInfo).address).toBe('127.0.0.1')
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
  })

  it('GET /health: healthy, with the model it serves and a timestamp in seconds', async () => {
    const res = await call(`${url}/health`)
    expect(res.status).toBe(200)
    expect(res.body).toEqual({
      status: 'healthy',
      model_loaded: true,
      model_name: 'spirals',
      model_version: '1',
      model_stage: 'Production',
      timestamp: expect.stringMatching(/^\d{10}\.\d{3}$/),
    })
    expect(Math.abs(Number((res.body as {timestamp: string}).timestamp) - Date.now() / 1000)).toBeLessThan(60)
  })

  it('POST /predict: label values, probabilities per class, the version and the model time', async () => {
    const res = await call<Prediction>(`${url}/predict`, {body: {data: ROWS}})
    expect(res.status).toBe(200)
    expect(Object.keys(res.body)).toEqual([
      'predictions',
      'probabilities',
      'model_version',
      'inference_time_ms',
      'classes',
    ])
    expect(res.body.model_version).toBe('1')
    expect(res.body.inference_time_ms).toBeGreaterThanOrEqual(0)
    expect(res.body.probabilities).toHaveLength(3)
    for (const [i, p] of res.body.probabilities.entries()) {
      expect(p).toHaveLength(2)
      expect(p[0]! + p[1]!).toBeCloseTo(1, 5)
      expect(res.body.predictions[i]).toBe(p[1]! > p[0]! ? 1 : 0)
    }
    // The same numbers as the registry path of `morpho predict`, which runs no server.
    const local = await predictLocal(store.store, {}, ROWS)
    expect(res.body.predictions).toEqual(local.predictions)
    for (const [i, p] of res.body.probabilities.entries()) {
      for (const [j, q] of p.entries()) expect(q).toBeCloseTo(local.probabilities[i]![j]!, 5)
    }
  })

  it('takes "instances" and "inputs" as other names for "data"', async () => {
    const a = await call<Prediction>(`${url}/predict`, {body: {instances: ROWS}})
    const b = await call<Prediction>(`${url}/predict`, {body: {inputs: ROWS}})
    expect(a.status).toBe(200)
    expect(b.body.predictions).toEqual(a.body.predictions)
  })

  it('model_version answers from another registered version (a number, v-number or alias) without changing the served one', async () => {
    for (const version of ['2', 'v2', 'champion', 2]) {
      const res = await call<Prediction>(`${url}/predict`, {body: {data: ROWS, model_version: version}})
      expect(res.status, JSON.stringify(res.body)).toBe(200)
      expect(res.body.model_version).toBe('2')
    }
    expect((await call(`${url}/health`)).body).toMatchObject({model_version: '1'})
    const unknown = await call<ErrorAnswer>(`${url}/predict`, {body: {data: ROWS, model_version: '9'}})
    expect(unknown.status).toBe(404)
    expect(unknown.body.error).toBe('spirals has no version 9 (versions 1-2)')
  })

  it('GET /models: versions newest first, stages, aliases and what is loaded', async () => {
    const res = await call(`${url}/models`)
    expect(res.status).toBe(200)
    expect(res.body).toEqual({
      model_name: 'spirals',
      current_version: '1',
      current_stage: 'Production',
      loaded_at: expect.any(String),
      available_versions: ['2', '1'],
      stages: {None: ['2'], Staging: [], Production: ['1'], Archived: []},
      aliases: {champion: '2'},
      models: ['spirals'],
      feature_names: ['x1', 'x2', 'x3'],
      classes: [0, 1],
      last_reload: {trigger: 'startup', at: expect.any(String), result: 'success', version: '1'},
    })
  })

  describe('every bad input is a 4xx that names the problem, and the server keeps serving', () => {
    const cases: [
      string,
      {body?: string; headers?: Record<string, string>; path?: string; method?: string},
      number,
      string,
    ][] = [
      ['malformed JSON', {body: '{"data": [[1, 2, 3]'}, 400, 'malformed JSON: '],
      ['NaN', {body: '{"data": [[1, NaN, 3]]}'}, 400, 'malformed JSON: NaN and Infinity are not JSON numbers'],
      [
        'a number too large for float32',
        {body: '{"data": [[1, 1e39, 3]]}'},
        400,
        'data[0][1] is 1e+39, outside the float32 range',
      ],
      [
        'Infinity by overflow',
        {body: '{"data": [[1, 2, 1e999]]}'},
        400,
        'data[0][2] is Infinity; every feature must be a finite number',
      ],
      [
        'the wrong content type',
        {body: '{"data": [[1, 2, 3]]}', headers: {'content-type': 'text/plain'}},
        415,
        'content type "text/plain" is not JSON',
      ],
      ['no data', {body: '{"rows": [[1, 2, 3]]}'}, 400, '"data" is missing'],
      [
        'data not a list',
        {body: '{"data": {"a": 1}}'},
        400,
        '"data" must be a list of rows, each a list of 3 numbers; got an object',
      ],
      ['a flat row', {body: '{"data": [1, 2, 3]}'}, 400, 'got a list of numbers (one row is [[x1, x2, x3]])'],
      [
        'the wrong feature count',
        {body: '{"data": [[1, 2]]}'},
        400,
        'data[0] has 2 features; model spirals v1 takes 3',
      ],
      [
        'ragged rows',
        {body: '{"data": [[1, 2, 3], [1, 2, 3, 4]]}'},
        400,
        'rows differ in length: data[0] has 3 values, data[1] has 4',
      ],
      ['a string', {body: '{"data": [[1, "2", 3]]}'}, 400, 'data[0][1] is "2" (a string), not a number'],
      ['empty data', {body: '{"data": []}'}, 400, '"data" is empty'],
      [
        'too many rows',
        {body: JSON.stringify({data: Array.from({length: 65}, () => [0, 0, 0])})},
        400,
        '65 rows is more than this server takes in one request (64)',
      ],
      [
        'a body over the limit',
        {body: JSON.stringify({data: Array.from({length: 400}, () => [0.123456, 0.123456, 0.123456])})},
        413,
        'this server takes at most 4096',
      ],
      ['an unknown version', {body: '{"data": [[1, 2, 3]], "model_version": "7"}'}, 404, 'spirals has no version 7'],
      [
        'an unknown alias',
        {body: '{"data": [[1, 2, 3]], "model_version": "nope"}'},
        404,
        'spirals has no alias "nope"',
      ],
      ['a bad version', {body: '{"data": [[1, 2, 3]], "model_version": "v0"}'}, 400, 'Invalid version "v0"'],
      ['GET on /predict', {method: 'GET'}, 405, 'GET is not allowed on /predict; use POST'],
      ['an unknown path', {method: 'GET', path: '/predictions'}, 404, 'nothing at GET /predictions'],
    ]
    it.each(cases)('%s', async (_name, req, status, message) => {
      const res = await call<ErrorAnswer>(`${url}${req.path ?? '/predict'}`, {
        method: req.method,
        body: req.body,
        headers: req.headers,
      })
      expect(res.status).toBe(status)
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8')
      expect(res.body.error).toContain(message)
      expect(res.body.detail).toBe(res.body.error)
      expect(res.body.code).toMatch(/^[A-Z_]+$/)
      const after = await call<Prediction>(`${url}/predict`, {body: {data: ROWS}})
      expect(after.status).toBe(200)
    })

    it('a body streamed past the limit without a Content-Length is cut off with a 413', async () => {
      const {port} = server.server.address() as AddressInfo
      const answer = await new Promise<{status: number; body: string}>((resolve, reject) => {
        const req = httpRequest({
          port,
          host: '127.0.0.1',
          method: 'POST',
          path: '/predict',
          headers: {'content-type': 'application/json'},
        })
        req.on('response', (res) => {
          let body = ''
          res.on('data', (d: Buffer) => {
            body += d.toString()
          })
          res.on('end', () => resolve({status: res.statusCode ?? 0, body}))
        })
        req.on('error', reject)
        req.write(`{"data": [${'[1, 2, 3],'.repeat(500)}`)
        req.end('[1, 2, 3]]}')
      })
      expect(answer.status).toBe(413)
      expect(JSON.parse(answer.body)).toMatchObject({code: 'PAYLOAD_TOO_LARGE'})
      expect((await call(`${url}/health`)).status).toBe(200)
    })
    it('a client that goes away mid-body leaves nothing in flight', async () => {
      const {port} = server.server.address() as AddressInfo
      const req = halfSentPredict(port, '{"data": [[1, 2, ')
      const deadline = Date.now() + 10_000
      while (server.state.inFlight === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
      expect(server.state.inFlight).toBe(1)
      req.destroy()
      while (server.state.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
      expect(server.state.inFlight).toBe(0)
      expect((await call(`${url}/health`)).status).toBe(200)
    })
  })

  describe('Open Inference Protocol v2', () => {
    it('server and health endpoints', async () => {
      expect((await call(`${url}/v2`)).body).toEqual({name: 'morpho', version: '0.0.0-test', extensions: []})
      expect((await call(`${url}/v2/health/live`)).status).toBe(200)
      expect((await call(`${url}/v2/health/ready`)).status).toBe(200)
      expect((await call(`${url}/v2/models/spirals/ready`)).status).toBe(200)
      expect((await call(`${url}/v2/models/other/ready`)).status).toBe(404)
      // A version is ready when the server can answer with it: registered and verified.
      expect((await call(`${url}/v2/models/spirals/versions/2/ready`)).status).toBe(200)
      expect((await call(`${url}/v2/models/spirals/versions/9/ready`)).status).toBe(404)
    })

    it('model metadata, for the served version and for another', async () => {
      const meta = await call(`${url}/v2/models/spirals`)
      expect(meta.body).toEqual({
        name: 'spirals',
        versions: ['1', '2'],
        platform: 'morpho',
        // A model without a header: the default names, as its exports give them.
        inputs: [{name: 'input', datatype: 'FP32', shape: [-1, 3], parameters: {feature_names: 'x1,x2,x3'}}],
        outputs: [
          {name: 'probabilities', datatype: 'FP32', shape: [-1, 2]},
          {name: 'predictions', datatype: 'INT64', shape: [-1]},
        ],
      })
      expect((await call(`${url}/v2/models/spirals/versions/2`)).body).toMatchObject({name: 'spirals', version: '2'})
      const unknown = await call<ErrorAnswer>(`${url}/v2/models/moons`)
      expect(unknown.status).toBe(404)
      expect(unknown.body.error).toBe('unknown model "moons"; this server serves "spirals"')
    })

    it('infer: one FP32 tensor in, probabilities and predictions out, the id echoed', async () => {
      const flat = ROWS.flat()
      const res = await call(`${url}/v2/models/spirals/infer`, {
        body: {id: 'req-1', inputs: [{name: 'input', shape: [3, 3], datatype: 'FP32', data: flat}]},
      })
      expect(res.status).toBe(200)
      const plain = await call<Prediction>(`${url}/predict`, {body: {data: ROWS}})
      expect(res.body).toEqual({
        model_name: 'spirals',
        model_version: '1',
        id: 'req-1',
        outputs: [
          {name: 'probabilities', shape: [3, 2], datatype: 'FP32', data: plain.body.probabilities.flat()},
          {name: 'predictions', shape: [3], datatype: 'INT64', data: plain.body.predictions},
        ],
      })
      const versioned = await call(`${url}/v2/models/spirals/versions/2/infer`, {
        body: {
          inputs: [{name: 'input', shape: [1, 3], datatype: 'FP64', data: [[1, 2, 3]]}],
          outputs: [{name: 'predictions'}],
        },
      })
      expect(versioned.body).toMatchObject({model_version: '2', outputs: [{name: 'predictions', shape: [1]}]})
      const bad = await call<ErrorAnswer>(`${url}/v2/models/spirals/infer`, {
        body: {inputs: [{name: 'input', shape: [1, 2], datatype: 'FP32', data: [1, 2]}]},
      })
      expect(bad.status).toBe(400)
      expect(bad.body.error).toBe('inputs[0].shape says 2 features per row; model spirals v1 takes 3')
    })
  })

  it('GET /metrics parses as Prometheus text with route labels, the model and the process', async () => {
    await call(`${url}/predict`, {body: {data: ROWS}})
    await call(`${url}/predict`, {body: '{"data": [[1, 2]]}'})
    await call(`${url}/no/such/path/${Math.random()}`)
    const res = await fetch(`${url}/metrics`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/plain')
    const families = parseExposition(await res.text())
    const samples = [...families.values()].flatMap((f) => f.samples)
    const value = (name: string, labels: Record<string, string> = {}) =>
      samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value

    expect(value('inference_requests_total', {method: 'POST', endpoint: '/predict', status: '200'})).toBeGreaterThan(5)
    expect(value('inference_requests_total', {method: 'POST', endpoint: '/predict', status: '400'})).toBeGreaterThan(0)
    expect(value('inference_requests_total', {method: 'POST', endpoint: '/predict', status: '413'})).toBeGreaterThan(0)
    expect(value('inference_requests_total', {method: 'GET', endpoint: 'unmatched', status: '404'})).toBeGreaterThan(0)
    expect(
      value('inference_requests_total', {method: 'POST', endpoint: '/v2/models/{name}/infer', status: '200'}),
    ).toBeGreaterThan(0)
    // Raw paths never become label values.
    const endpoints = new Set(families.get('inference_requests_total')!.samples.map((s) => s.labels.endpoint))
    expect([...endpoints].filter((e) => e!.includes('spirals') || e!.includes('/no/'))).toEqual([])

    expect(families.get('inference_request_duration_seconds')?.type).toBe('histogram')
    expect(value('inference_request_duration_seconds_count', {endpoint: '/predict'})).toBeGreaterThan(0)
    expect(value('model_prediction_duration_seconds_count')).toBeGreaterThan(0)
    expect(value('model_load_duration_seconds_count')).toBeGreaterThanOrEqual(2) // v1 at start, v2 on demand
    expect(value('inference_model_loaded')).toBe(1)
    expect(value('inference_model_info', {model: 'spirals', version: '1', stage: 'Production'})).toBe(1)
    expect(value('inference_model_reloads_total', {result: 'success', trigger: 'startup'})).toBe(1)
    expect(value('inference_rows_predicted_total')).toBeGreaterThan(10)
    expect(value('inference_batch_rows_count')).toBeGreaterThan(0)
    // The scrape reading the gauge does not count itself.
    expect(value('inference_requests_in_flight')).toBe(0)
    expect(families.has('process_cpu_user_seconds_total')).toBe(true)
    expect(families.has('nodejs_eventloop_lag_seconds')).toBe(true)
  })

  it('predicting leaks no tensors, and stopping frees the model', async () => {
    const tf = server.tf!
    const baseline = tf.memory().numTensors
    // TF.js for every batch size, so the tensor path is the one exercised.
    const tfServer = await startTestServer(store.store, {predictor: 'tfjs'})
    expect(tfServer.holder.current!.forward.description).toBe('tfjs')
    const loaded = tf.memory().numTensors
    expect(loaded).toBeGreaterThan(baseline)
    const many = Array.from({length: 64}, (_, i) => [i / 10, -i / 10, 1])
    await Promise.all(
      Array.from({length: 20}, (_, i) => call(`${tfServer.url}/predict`, {body: {data: i % 2 ? many : ROWS}})),
    )
    expect(tf.memory().numTensors).toBe(loaded)
    await tfServer.stop()
    expect(tf.memory().numTensors).toBe(baseline)
  })
})

describe('morpho serve: protection and the empty store', () => {
  let store: TrainedStore

  beforeAll(async () => {
    store = await trainedStore(1)
  })
  afterAll(() => store?.cleanup())

  it('with a token, reloading needs Authorization: Bearer <token>; predicting does not', async () => {
    const server = await startTestServer(store.store, {token: 's3cret'})
    try {
      const none = await call<ErrorAnswer>(`${server.url}/reload-model`, {method: 'POST'})
      expect(none.status).toBe(401)
      expect(none.headers.get('www-authenticate')).toBe('Bearer realm="morpho"')
      expect(none.body.error).toBe('reloading needs Authorization: Bearer <token>')
      const wrong = await call(`${server.url}/reload-model`, {method: 'POST', headers: {authorization: 'Bearer s3cre'}})
      expect(wrong.status).toBe(401)
      const right = await call(`${server.url}/reload-model`, {
        method: 'POST',
        headers: {authorization: 'Bearer s3cret'},
      })
      expect(right.status).toBe(200)
      expect(right.body).toEqual({
        status: 'success',
        message: 'Already serving model version 1; its files verified',
        model_name: 'spirals',
        model_version: '1',
        model_stage: 'Production',
        previous_version: '1',
        changed: false,
      })
      expect((await call(`${server.url}/predict`, {body: {data: ROWS}})).status).toBe(200)
    } finally {
      await server.stop()
    }
  })

  it('without a token, reloading is open (the server binds to loopback by default)', async () => {
    const server = await startTestServer(store.store)
    try {
      expect((await call(`${server.url}/reload-model`, {method: 'POST'})).status).toBe(200)
    } finally {
      await server.stop()
    }
  })

  it('an empty store starts a server without a model: degraded, 503 on predictions, 404 on reload', async () => {
    const empty = await tempDir('morpho-serve-empty-')
    const server = await startTestServer(new FolderStore(empty.path))
    try {
      const health = await call(`${server.url}/health`)
      // Not ready until a model is loaded; the process itself is live.
      expect(health.status).toBe(503)
      expect((await call(`${server.url}/v2/health/live`)).status).toBe(200)
      expect(health.body).toMatchObject({
        status: 'degraded',
        reason: 'no model loaded',
        model_loaded: false,
        model_version: null,
      })
      const predict = await call<ErrorAnswer>(`${server.url}/predict`, {body: {data: ROWS}})
      expect(predict.status).toBe(503)
      expect(predict.body.code).toBe('NO_MODEL')
      expect((await call(`${server.url}/v2/health/ready`)).status).toBe(503)
      expect((await call(`${server.url}/models`)).body).toMatchObject({
        model_name: null,
        current_version: null,
        available_versions: [],
      })
      const reload = await call<ErrorAnswer & {status: string}>(`${server.url}/reload-model`, {method: 'POST'})
      expect(reload.status).toBe(404)
      expect(reload.body).toMatchObject({status: 'failure', model_version: null})
      expect(reload.body.error).toBe('reload failed: the registry has no models yet; no model loaded')
      const metrics = parseExposition(await (await fetch(`${server.url}/metrics`)).text())
      expect(metrics.get('inference_model_loaded')!.samples[0]!.value).toBe(0)
      expect(server.log.lines.some((l) => l.includes('no model to serve yet'))).toBe(true)
    } finally {
      await server.stop()
      await empty.cleanup()
    }
  })

  it('mounts the web page at / with /api/served naming the model it serves', async () => {
    const server = await startTestServer(store.store, {ui: true})
    try {
      const page = await fetch(`${server.url}/`)
      expect(page.status).toBe(200)
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8')
      await page.text()
      expect((await call(`${server.url}/api/served`)).body).toMatchObject({
        served: {name: 'spirals', version: 1, stage: 'Production'},
      })
      const metrics = parseExposition(await (await fetch(`${server.url}/metrics`)).text())
      const pageRequests = metrics
        .get('inference_requests_total')!
        .samples.find((s) => s.labels.endpoint === '/' && s.labels.status === '200')
      expect(pageRequests?.value).toBe(1)
    } finally {
      await server.stop()
    }
  })

  it('counts a mounted request whose client left before the answer as 499, not as the status never sent', async () => {
    let held: ServerResponse | undefined
    const server = await startTestServer(store.store, {
      mount: (req, res) => {
        if (req.url !== '/api/slow') return false
        held = res
        return true
      },
    })
    try {
      const abort = new AbortController()
      const pending = fetch(`${server.url}/api/slow`, {signal: abort.signal}).catch((err: Error) => err)
      const deadline = Date.now() + 5000
      while (!held && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
      abort.abort()
      expect(await pending).toBeInstanceOf(Error)
      while (server.state.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
      const metrics = parseExposition(await (await fetch(`${server.url}/metrics`)).text())
      const slow = metrics
        .get('inference_requests_total')!
        .samples.filter((s) => s.labels.endpoint === '/api/{resource}')
      expect(slow.map((s) => [s.labels.status, s.value])).toEqual([['499', 1]])
      expect(metrics.get('inference_requests_in_flight')!.samples[0].value).toBe(0)
    } finally {
      held?.destroy()
      await server.stop()
    }
  })

  it('an explicit version that does not exist fails the start with NOT_FOUND', async () => {
    await expect(startTestServer(store.store, {target: {version: 5}})).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: 'spirals has no version 5 (versions 1-1)',
    })
  })

  it('a port in use is a usage error that names it', async () => {
    const first = await startTestServer(store.store)
    try {
      await expect(startTestServer(store.store, {port: first.port})).rejects.toMatchObject({
        code: 'USAGE',
        message: `Cannot serve on 127.0.0.1:${first.port}: the port is already in use`,
      })
    } finally {
      await first.stop()
    }
  })
})
