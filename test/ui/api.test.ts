import {mkdir, readdir, writeFile} from 'node:fs/promises'
import {request, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {join} from 'node:path'
import {Registry} from 'prom-client'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {listRunViews} from '../../src/contract/runs.js'
import {createJsPredictor} from '../../src/model/predictor.js'
import {loadModelFiles} from '../../src/model/serialize.js'
import {createInferenceMetrics} from '../../src/monitoring/inference-metrics.js'
import {trainAndRegister} from '../../src/pipeline/train-and-register.js'
import {promote, setAlias} from '../../src/registry/index.js'
import {FolderStore} from '../../src/store/folder/folder-store.js'
import type {StorePaths} from '../../src/store/paths.js'
import {resolveTrainOptions} from '../../src/training/options.js'
import type {ServedInfo} from '../../src/ui/api.js'
import {createUiHandler, PAGE_FILES, type UiDeps} from '../../src/ui/handler.js'
import {createUiServer, resolveUiAddress, startUiServer} from '../../src/ui/server.js'
import {parseExposition, trafficSnapshot} from '../../src/ui/traffic.js'
import {tempDir} from '../helpers/cli.js'
import {expectShape} from '../helpers/shapes.js'
import {GROWING} from './helpers/growing.js'

interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  text: string
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers are checked field by field below
  json: any
}

/** One request with the path sent exactly as given (fetch would normalise "/a/../b" first). */
function raw(base: string, path: string, options: {method?: string; headers?: Record<string, string>} = {}) {
  const url = new URL(base)
  return new Promise<Answer>((resolve, reject) => {
    const req = request(
      {host: url.hostname, port: url.port, path, method: options.method ?? 'GET', headers: options.headers},
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          let json: unknown
          try {
            json = text ? JSON.parse(text) : undefined
          } catch {
            json = undefined
          }
          resolve({status: res.statusCode ?? 0, headers: res.headers, text, json})
        })
      },
    )
    req.on('error', reject)
    req.end()
  })
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve())
    server.closeAllConnections()
  })
}

describe('the web page API, on a store with two real runs and a registered model', () => {
  let tmp: {path: string; cleanup: () => Promise<void>}
  let paths: StorePaths
  let store: FolderStore
  let ids: string[]
  let server: Server
  let base: string

  beforeAll(async () => {
    tmp = await tempDir('morpho-ui-api-')
    store = new FolderStore(join(tmp.path, 'store'))
    paths = store.paths
    ids = []
    for (const seed of [1, 2]) {
      const outcome = await trainAndRegister(
        {options: resolveTrainOptions({...GROWING, seed}), store, backend: 'wasm', morphoVersion: 'test'},
        {registerAt: 0, stageAt: null, model: 'moons'},
      )
      ids.push(outcome.run.runId)
    }
    await promote(store, {model: 'moons', stage: 'Production', version: 2})
    await promote(store, {model: 'moons', stage: 'Staging', version: 1})
    await setAlias(store, {model: 'moons', alias: 'champion', version: 1})

    // Damage of every kind beside the good runs, and a run record outside the store that a
    // path trick would reach.
    const runs = paths.runsDir
    await mkdir(join(runs, 'broken-json'))
    await writeFile(join(runs, 'broken-json', 'run.json'), '{"id": "broken-json", "status": ')
    await mkdir(join(runs, 'broken-shape'))
    await writeFile(join(runs, 'broken-shape', 'run.json'), '[]')
    await mkdir(join(runs, 'being-created'))
    await mkdir(join(tmp.path, 'secret'))
    await writeFile(
      join(tmp.path, 'secret', 'run.json'),
      JSON.stringify({id: 'secret', status: 'completed', problem: 'TOP-SECRET', createdAt: 'x', params: {}}),
    )

    server = createUiServer({store, version: '9.9.9'})
    base = await listen(server)
  }, 60_000)

  afterAll(async () => {
    await close(server)
    await tmp.cleanup()
  })

  it('GET /api/info names the store and the mode', async () => {
    const res = await raw(base, '/api/info')
    expect(res.status).toBe(200)
    expectShape('GET /api/info', res.json)
    expect(res.json).toEqual({
      morpho: '9.9.9',
      store: paths.home,
      mode: 'ui',
      served: false,
      lowerIsBetter: {suffixes: ['loss', 'ece', 'error'], names: ['accuracy_dip', 'recovery_epochs']},
    })
  })

  it('GET /api/runs lists both runs newest first with their summaries, and reports damaged run folders', async () => {
    const res = await raw(base, '/api/runs')
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(res.headers['cache-control']).toBe('no-store')
    expectShape('GET /api/runs', res.json)
    const {runs, skipped, total} = res.json
    expect(total).toBe(2)
    expect(runs.map((r: {runId: string}) => r.runId)).toEqual([...ids].reverse())
    // The same document as `morpho runs list --json`.
    expect(res.json).toEqual(await listRunViews(store))
    expect(runs[0]).toMatchObject({
      runId: ids[1],
      problem: 'moons',
      status: 'completed',
      backend: {name: 'wasm'},
      seed: 2,
      summary: {epochs: 14, seeds_total: 2},
      model: true,
      data: {kind: 'generated', samples: 240, features: 3, classes: 2},
      versions: [{model: 'moons', version: 2, stage: 'Production'}],
      location: paths.runDir(ids[1]!),
    })
    expect(runs[1].versions).toEqual([{model: 'moons', version: 1, stage: 'Staging'}])
    expect(runs[0].summary.val_acc).toBeGreaterThan(0)
    // A folder without run.json yet is a run being created, not damage: neither listed nor reported.
    expect(skipped).toEqual([
      {runId: 'broken-json', error: expect.stringMatching(/run\.json is not valid JSON/)},
      {runId: 'broken-shape', error: 'run.json is not an object'},
    ])
  })

  it('GET /api/runs/{id} gives the run, every epoch and every event', async () => {
    const res = await raw(base, `/api/runs/${ids[0]}`)
    expect(res.status).toBe(200)
    expectShape('GET /api/runs/{id}', res.json)
    const {run, metrics, events} = res.json
    expect(run).toMatchObject({runId: ids[0], status: 'completed', problem: 'moons', seed: 1, model: true})
    expect(metrics.map((m: {epoch: number}) => m.epoch)).toEqual(Array.from({length: 14}, (_, i) => i + 1))
    expect(metrics[0]).toMatchObject({phase: 'warm_up', seedStates: [{state: 'dormant', alpha: 0}, {}]})
    expect(metrics.at(-1).phase).toBe('adaptation')
    expect(events.filter((e: {type: string}) => e.type === 'germination').length).toBeGreaterThan(0)
    expect(events).toContainEqual(expect.objectContaining({type: 'phase', from: 'warm_up', to: 'adaptation', epoch: 5}))
  })

  it('answers a damaged run with 422 and an unknown one with 404, as JSON', async () => {
    const broken = await raw(base, '/api/runs/broken-json')
    expect(broken.status).toBe(422)
    expect(broken.json).toMatchObject({code: 'INTEGRITY', error: expect.stringMatching(/not valid JSON/)})
    const shape = await raw(base, '/api/runs/broken-shape')
    expect(shape.status).toBe(422)
    expect(shape.json.error).toBe('run.json is not an object')
    expect((await raw(base, '/api/runs/broken-shape/boundary')).status).toBe(422)
    expect((await raw(base, '/api/runs/broken-json/boundary')).status).toBe(422)
    const missing = await raw(base, '/api/runs/moons-20000101-000000-abcdef')
    expect(missing.status).toBe(404)
    expect(missing.json).toMatchObject({code: 'NOT_FOUND', hint: expect.any(String)})
  })

  it('GET /api/runs/{id}/boundary: a grid of predicted classes and the regenerated validation points', async () => {
    const res = await raw(base, `/api/runs/${ids[0]}/boundary`)
    expect(res.status).toBe(200)
    const b = res.json
    expectShape('GET /api/runs/{id}/boundary', b)
    expect(b).toMatchObject({source: {run: ids[0]}, features: 3, classes: [0, 1], note: null})
    expect(b.x.feature).toBe(0)
    expect(b.y.feature).toBe(1)
    expect(b.x.min).toBeLessThan(b.x.max)
    expect(b.fixed).toHaveLength(1)
    expect(b.grid.cls).toHaveLength(b.grid.nx * b.grid.ny)
    expect(b.grid.p).toHaveLength(b.grid.nx * b.grid.ny)
    expect(new Set(b.grid.cls)).toEqual(new Set([0, 1]))
    expect(b.grid.p.every((p: number) => p >= 0.5 && p <= 1)).toBe(true)

    // The points are the run's own validation split: as many rows, and the model scores them
    // as training did (one row may sit on the boundary and tip the other way).
    const record = (await raw(base, `/api/runs/${ids[0]}`)).json.run
    expect(b.points.x).toHaveLength(record.data.val)
    for (const key of ['y', 'cls', 'pred']) expect(b.points[key]).toHaveLength(record.data.val)
    const right = b.points.pred.filter((p: number, i: number) => p === b.points.cls[i]).length
    expect(b.accuracy).toBeCloseTo(right / record.data.val, 10)
    expect(Math.abs(b.accuracy - record.summary.val_acc)).toBeLessThanOrEqual(1 / record.data.val + 1e-9)
  })

  it('GET /api/models: versions newest first with stage, aliases, metrics and run, as `morpho list` shows them', async () => {
    const res = await raw(base, '/api/models')
    expect(res.status).toBe(200)
    expectShape('GET /api/models', res.json)
    const [model] = res.json.models
    expect(res.json.models).toHaveLength(1)
    expect(model).toMatchObject({
      name: 'moons',
      aliases: {champion: 1},
      stages: {Production: 2, Staging: 1, Archived: []},
    })
    expect(model.versions.map((v: {version: number; stage: string}) => [v.version, v.stage])).toEqual([
      [2, 'Production'],
      [1, 'Staging'],
    ])
    expect(model.versions[1]).toMatchObject({
      runId: ids[0],
      aliases: ['champion'],
      path: 'models/moons/1',
      metrics: {val_acc: expect.any(Number), val_loss: expect.any(Number)},
      registeredBy: {rule: 'auto', metric: 'val_acc', threshold: 0},
      model: 'moons',
      dir: paths.versionDir('moons', 1),
    })
  })

  it('GET /api/history: newest first, with a limit and a model filter', async () => {
    const all = await raw(base, '/api/history')
    expect(all.status).toBe(200)
    expectShape('GET /api/history?model=&limit=', all.json)
    expect(all.json.total).toBe(5)
    expect(all.json.entries.map((e: {seq: number; action: string}) => [e.seq, e.action])).toEqual([
      [5, 'alias_set'],
      [4, 'transition'],
      [3, 'transition'],
      [2, 'register'],
      [1, 'register'],
    ])
    expect(all.json.entries[1]).toMatchObject({model: 'moons', version: 1, from: 'None', to: 'Staging'})
    const one = await raw(base, '/api/history?limit=1&model=moons')
    expect(one.json).toMatchObject({total: 5, entries: [{seq: 5}]})
    expect((await raw(base, '/api/history?limit=abc')).status).toBe(400)
    expect((await raw(base, '/api/history?limit=0')).status).toBe(400)
    expect((await raw(base, '/api/history?model=nope')).status).toBe(404)
  })

  it('has no served model and no traffic in `morpho ui`', async () => {
    expect((await raw(base, '/api/served')).json).toEqual({served: null})
    expect((await raw(base, '/api/traffic')).json).toEqual({traffic: null})
    const boundary = await raw(base, '/api/served/boundary')
    expect(boundary.status).toBe(404)
    expect(boundary.json.code).toBe('NOT_FOUND')
  })

  it('answers unknown API paths with a 404 and other methods with a 405, in the error body of every endpoint', async () => {
    for (const path of ['/api/nope', '/api/runs/a/b/c', '/api/served/nope', '/api/']) {
      const res = await raw(base, path)
      expect(res.status, path).toBe(404)
      expect(res.json, path).toMatchObject({code: 'NOT_FOUND'})
    }
    const post = await raw(base, '/api/runs', {method: 'POST'})
    expect(post.status).toBe(405)
    expect(post.headers.allow).toBe('GET, HEAD')
    expect(post.json.code).toBe('METHOD_NOT_ALLOWED')
  })

  it('refuses path tricks with 400 or 404 and never reads outside the store', async () => {
    const tricks: [string, number][] = [
      ['/api/runs/../../etc', 400],
      ['/api/runs/../../secret', 400],
      ['/api/runs/..%2F..%2Fsecret', 400],
      ['/api/runs/..%2F..%2Fetc', 400],
      ['/api/runs/%2e%2e', 400],
      ['/api/runs/%2E%2E/%2E%2E/secret', 400],
      ['/api/runs/..%5C..%5Csecret', 400],
      ['/api/runs/%2Fetc%2Fpasswd', 400],
      ['/api/runs/.hidden', 400],
      ['/api/runs/..%252F..%252Fsecret', 400],
      ['/api/runs/..%2F..%2Fsecret/boundary', 400],
      ['/api/runs/a%00b', 400],
      ['/api/history?model=..%2F..%2Fsecret', 400],
      ['/assets/../../src/ui/handler.ts', 400],
      ['/assets/%2e%2e/handler.ts', 400],
      ['/assets/..%2Fhandler.ts', 404],
      ['/assets/..%2F..%2F..%2Fpackage.json', 404],
      ['/assets/index.html%00', 404],
      ['/assets/handler.ts', 404],
    ]
    for (const [path, status] of tricks) {
      const res = await raw(base, path)
      expect(res.status, path).toBe(status)
      expect(res.headers['content-type'], path).toBe('application/json; charset=utf-8')
      expect(res.json.code, path).toBe(status === 400 ? 'USAGE' : 'NOT_FOUND')
      expect(res.text, path).not.toContain('TOP-SECRET')
    }
    // The store is as it was: nothing was created by the requests either.
    expect((await readdir(paths.runsDir)).sort()).toEqual(
      ['being-created', 'broken-json', 'broken-shape', ...ids].sort(),
    )
  })

  it('serves the page at / with its security headers, and every listed asset with its type', async () => {
    const page = await raw(base, '/')
    expect(page.status).toBe(200)
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(page.headers['content-security-policy']).toMatch(/default-src 'self'/)
    expect(page.headers['x-content-type-options']).toBe('nosniff')
    expect(page.text).toContain('<script src="/assets/app.js" type="module"></script>')
    expect(page.text).not.toMatch(/https?:\/\//)
    const types: Record<string, string> = {
      html: 'text/html; charset=utf-8',
      js: 'text/javascript; charset=utf-8',
      css: 'text/css; charset=utf-8',
      svg: 'image/svg+xml',
    }
    for (const name of PAGE_FILES) {
      const res = await raw(base, `/assets/${name}`)
      expect(res.status, name).toBe(200)
      expect(res.headers['content-type'], name).toBe(types[name.split('.').pop()!])
      expect(res.headers['cache-control'], name).toBe('no-cache')
      expect(res.headers.etag, name).toMatch(/^"[\w-]{22}"$/)
      // Everything the page loads comes from this server.
      if (!name.startsWith('uplot')) expect(res.text, name).not.toMatch(/\b(src|href)=["']https?:/)
    }
  })

  it('keeps the list of page files equal to what the sources hold', async () => {
    const own = (await readdir(join(import.meta.dirname, '../../src/ui/assets'))).sort()
    expect([...PAGE_FILES].sort()).toEqual([...own, 'uplot.min.css', 'uplot.min.js'].sort())
  })

  it('revalidates assets with ETags, compresses text for clients that accept gzip, and answers HEAD', async () => {
    const first = await raw(base, '/assets/uplot.min.js')
    const again = await raw(base, '/assets/uplot.min.js', {headers: {'If-None-Match': String(first.headers.etag)}})
    expect(again.status).toBe(304)
    expect(again.text).toBe('')
    const gz = await raw(base, '/assets/uplot.min.js', {headers: {'Accept-Encoding': 'gzip, br'}})
    expect(gz.headers['content-encoding']).toBe('gzip')
    expect(Number(gz.headers['content-length'])).toBeLessThan(Number(first.headers['content-length']))
    const head = await raw(base, '/api/runs', {method: 'HEAD'})
    expect(head.status).toBe(200)
    expect(head.text).toBe('')
    expect(Number(head.headers['content-length'])).toBeGreaterThan(100)
  })

  it('leaves every other path to the server it is mounted in', async () => {
    const ui = createUiHandler({store})
    for (const path of ['/health', '/predict', '/metrics', '/api', '/v2/models/moons', '/index.html', '//api/runs']) {
      const res = {headersSent: false, writeHead: () => expect.unreachable(path)} as never
      expect(ui({url: path, method: 'GET', headers: {}} as never, res), path).toBe(false)
    }
    const notFound = await raw(base, '/health')
    expect(notFound.status).toBe(404)
    expect(notFound.json).toMatchObject({code: 'NOT_FOUND', error: 'Nothing at /health'})
  })
})

describe('the web page API inside a server that serves a model', () => {
  let tmp: {path: string; cleanup: () => Promise<void>}
  let paths: StorePaths
  let store: FolderStore
  let runId: string
  let server: Server
  let base: string
  let served: ServedInfo | undefined
  let predictorCalls = 0
  /** How many holders the served model has: the page holds it while it computes with it. */
  let held = 0
  const registry = new Registry()
  const metrics = createInferenceMetrics(registry, {defaultMetrics: false})

  beforeAll(async () => {
    tmp = await tempDir('morpho-ui-served-')
    store = new FolderStore(tmp.path)
    paths = store.paths
    const outcome = await trainAndRegister(
      {options: resolveTrainOptions({...GROWING, seed: 3}), store, backend: 'wasm', morphoVersion: 'test'},
      {registerAt: 0, stageAt: null, model: 'moons'},
    )
    runId = outcome.run.runId
    await promote(store, {model: 'moons', stage: 'Production', version: 1})
    const loaded = await loadModelFiles(paths.versionDir('moons', 1))
    const js = createJsPredictor(loaded)
    served = {
      name: 'moons',
      version: 1,
      stage: 'Production',
      loadedAt: new Date('2026-11-29T12:00:00Z'),
      predictor: {
        predictProba(rows, n) {
          expect(held).toBe(1)
          predictorCalls++
          return js.predictProba(rows, n)
        },
      },
      acquire: () => held++,
      release: () => held--,
    }
    const deps: UiDeps = {store, served: () => served, metricsText: () => registry.metrics()}
    const ui = createUiHandler(deps)
    const {createServer} = await import('node:http')
    server = createServer((req, res) => {
      if (!ui(req, res)) res.writeHead(404).end()
    })
    base = await listen(server)
  }, 60_000)

  afterAll(async () => {
    await close(server)
    await tmp.cleanup()
  })

  it('GET /api/served names the version, its run and the training mean of each feature', async () => {
    const res = await raw(base, '/api/served')
    expect(res.status).toBe(200)
    const loaded = await loadModelFiles(paths.versionDir('moons', 1))
    expectShape('GET /api/served', res.json)
    expect(res.json.served).toEqual({
      name: 'moons',
      version: 1,
      stage: 'Production',
      loadedAt: '2026-11-29T12:00:00.000Z',
      runId,
      problem: 'moons',
      inputDim: 3,
      classes: [0, 1],
      featureNames: ['x1', 'x2', 'x3'],
      featureMeans: loaded.file.scaler.mean,
    })
    expect((await raw(base, '/api/info')).json).toMatchObject({mode: 'serve', served: true})
  })

  it('GET /api/served/boundary draws with the server’s own predictor, over its run’s validation points', async () => {
    const res = await raw(base, '/api/served/boundary')
    expect(res.status).toBe(200)
    expectShape('GET /api/served/boundary', res.json)
    expect(res.json).toMatchObject({source: {model: 'moons', version: 1}, features: 3, note: null})
    expect(res.json.points.x.length).toBeGreaterThan(0)
    expect(predictorCalls).toBeGreaterThan(0)
    expect(held).toBe(0)
    // Cached: the same version asks the predictor no more.
    const calls = predictorCalls
    await raw(base, '/api/served/boundary')
    expect(predictorCalls).toBe(calls)
  })

  it('follows a reload: the next answer names the new version', async () => {
    const before = served
    served = {...before!, version: 1, stage: 'Staging', loadedAt: '2026-11-29T13:00:00.000Z'}
    expect((await raw(base, '/api/served')).json.served).toMatchObject({
      stage: 'Staging',
      loadedAt: '2026-11-29T13:00:00.000Z',
    })
    served = undefined
    expect((await raw(base, '/api/served')).json).toEqual({served: null})
    served = before
  })

  it('GET /api/traffic counts model traffic only: not /metrics, health checks or the page itself', async () => {
    const observe = (target: string, status: number, seconds = 0.004) =>
      metrics.observeRequest({method: target === '/predict' ? 'POST' : 'GET', target, status, seconds})
    for (let i = 0; i < 3; i++) observe('/predict', 200)
    observe('/predict', 500, 0.2)
    observe('/predict', 400)
    for (const path of [
      '/metrics',
      '/health',
      '/v2/health/ready',
      '/',
      '/assets/app.js',
      '/api/runs',
      `/api/runs/${runId}`,
    ]) {
      observe(path, 200)
    }
    const res = await raw(base, '/api/traffic')
    expect(res.status).toBe(200)
    expectShape('GET /api/traffic', res.json)
    const t = res.json.traffic
    expect(Object.keys(t).sort()).toEqual([
      'errors',
      'latency',
      'modelLoaded',
      'prediction',
      'rejected',
      'requests',
      'time',
    ])
    expect(t).toMatchObject({requests: 5, errors: 1, rejected: 1, modelLoaded: 0})
    expect(t.latency.count).toBe(5)
    expect(t.latency.sum).toBeCloseTo(0.216, 6)
    const buckets = t.latency.buckets as {le: number | null; count: number}[]
    expect(buckets.at(-1)).toEqual({le: null, count: 5})
    expect(buckets.find((b) => b.le === 0.005)).toEqual({le: 0.005, count: 4})
    expect(Math.abs(t.time - Date.now())).toBeLessThan(5000)
  })
})

describe('reading the Prometheus text format', () => {
  it('reads labels with escapes, special values and timestamps, and skips what it cannot read', () => {
    const text = [
      '# HELP x help',
      '# TYPE x counter',
      'x{a="q\\"uote",b="back\\\\slash",c="new\\nline"} 3 1700000000000',
      'y +Inf',
      'z{le="+Inf"} NaN',
      'broken{a="unterminated} 1',
      'w{} 2.5e-3',
      '',
    ].join('\n')
    const samples = parseExposition(text)
    expect(samples.map((s) => s.name)).toEqual(['x', 'y', 'z', 'w'])
    expect(samples[0]).toEqual({name: 'x', labels: {a: 'q"uote', b: 'back\\slash', c: 'new\nline'}, value: 3})
    expect(samples[1]!.value).toBe(Number.POSITIVE_INFINITY)
    expect(samples[2]!.labels).toEqual({le: '+Inf'})
    expect(samples[3]!.value).toBe(0.0025)
  })

  it('gives zeros for a server with no traffic yet', () => {
    expect(trafficSnapshot('', 42)).toEqual({
      time: 42,
      requests: 0,
      errors: 0,
      rejected: 0,
      latency: {count: 0, sum: 0, buckets: []},
      prediction: {count: 0, sum: 0},
      modelLoaded: null,
    })
  })
})

describe('morpho ui server settings', () => {
  it('takes the flag, then MORPHO_UI_PORT / MORPHO_UI_HOST, then 8090 on loopback', () => {
    expect(resolveUiAddress({}, {})).toEqual({port: 8090, host: '127.0.0.1'})
    expect(resolveUiAddress({}, {MORPHO_UI_PORT: '9000', MORPHO_UI_HOST: '0.0.0.0'})).toEqual({
      port: 9000,
      host: '0.0.0.0',
    })
    expect(resolveUiAddress({port: 0, host: '::1'}, {MORPHO_UI_PORT: '9000'})).toEqual({port: 0, host: '::1'})
    expect(() => resolveUiAddress({}, {MORPHO_UI_PORT: 'http'})).toThrow(/MORPHO_UI_PORT is not a port: "http"/)
  })

  it('says which port is taken instead of crashing', async () => {
    const tmp = await tempDir('morpho-ui-port-')
    const first = await startUiServer({store: new FolderStore(tmp.path)}, {port: 0})
    expect(first.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/)
    await expect(startUiServer({store: new FolderStore(tmp.path)}, {port: first.port})).rejects.toMatchObject({
      code: 'USAGE',
      message: `Cannot serve the page on 127.0.0.1:${first.port}: the port is already in use`,
    })
    await first.close()
    await tmp.cleanup()
  })
})
