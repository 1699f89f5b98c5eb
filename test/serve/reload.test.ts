import {cp} from 'node:fs/promises'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {promote, registerRun} from '../../src/registry/index.js'
import {FolderStore} from '../../src/store/folder/folder-store.js'
import {loadTf} from '../../src/tf/backend.js'
import {tempDir} from '../helpers/cli.js'
import {promoteUnchecked, tamper} from '../helpers/runs.js'
import {parseExposition} from '../monitoring/helpers/exposition.js'
import {call, registerBroken, startTestServer, type TrainedStore, trainedStore} from './helpers.js'

const ROW = {data: [[0.5, -1.2, 0.3]]}

async function reloads(url: string): Promise<Record<string, number>> {
  const families = parseExposition(await (await fetch(`${url}/metrics`)).text())
  const out: Record<string, number> = {}
  for (const s of families.get('inference_model_reloads_total')!.samples)
    out[`${s.labels.result}/${s.labels.trigger}`] = s.value
  return out
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await fn()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('reloading a served model', () => {
  // Versions 1-4 hold the same trained weights (4 gets tampered with); 5 has NaN weights.
  let store: TrainedStore
  let broken: number

  beforeAll(async () => {
    store = await trainedStore(4)
    broken = await registerBroken(store)
  })
  afterAll(() => store?.cleanup())

  it('swaps versions under continuous requests without failing one, and frees every retired model', async () => {
    const {tf} = await loadTf('wasm')
    const baseline = tf.memory()
    const server = await startTestServer(store.store, {predictor: 'tfjs'})
    const answers: {status: number; version?: string}[] = []
    let running = true
    const client = async () => {
      while (running) {
        const res = await call<{model_version: string}>(`${server.url}/predict`, {body: ROW})
        answers.push({status: res.status, version: res.body.model_version})
      }
    }
    const clients = Array.from({length: 4}, client)
    try {
      // Wait until traffic flows, then move Production around while it does.
      await until('traffic', async () => (answers.length > 20 ? true : undefined))
      for (const version of [2, 3, 1, 3]) {
        await promote(store.store, {stage: 'Production', version})
        const res = await call(`${server.url}/reload-model`, {method: 'POST'})
        expect(res.body).toMatchObject({status: 'success', model_version: String(version), changed: true})
        const seen = answers.length
        await until('requests after the reload', async () => (answers.length > seen + 10 ? true : undefined))
        expect(answers.at(-1)!.version).toBe(String(version))
      }
    } finally {
      running = false
      await Promise.all(clients)
    }
    expect(answers.filter((a) => a.status !== 200)).toEqual([])
    expect(new Set(answers.map((a) => a.version))).toEqual(new Set(['1', '2', '3']))
    expect(await reloads(server.url)).toMatchObject({'success/api': 4, 'failure/api': 0})
    expect(server.log.lines.filter((l) => l.includes('reloaded spirals'))).toEqual([
      expect.stringMatching(/^info reloaded spirals v1 → v2 \(Production, api, \d+ ms; forward: tfjs\)$/),
      expect.stringMatching(/v2 → v3/),
      expect.stringMatching(/v3 → v1/),
      expect.stringMatching(/v1 → v3/),
    ])
    await server.stop()
    expect(tf.memory().numTensors).toBe(baseline.numTensors)
    // The forward pass allocates backend buffers itself: none may be left behind either.
    expect(tf.memory().numDataBuffers).toBe(baseline.numDataBuffers)
  })

  it('a request holding the old model finishes on it; its tensors go when it lets go', async () => {
    const {tf} = await loadTf('wasm')
    await promote(store.store, {stage: 'Production', version: 1})
    const server = await startTestServer(store.store, {predictor: 'tfjs'})
    try {
      const held = server.holder.acquire()!
      expect(held.version).toBe(1)
      await promote(store.store, {stage: 'Production', version: 2})
      const before = tf.memory().numTensors
      expect((await call(`${server.url}/reload-model`, {method: 'POST'})).status).toBe(200)
      expect(server.holder.current!.version).toBe(2)
      // Both models are in memory while the old one is held, and the old one still answers.
      const both = tf.memory().numTensors
      expect(both).toBeGreaterThan(before)
      const probs = held.forward.predictProba(new Float32Array([0.5, -1.2, 0.3]), 1)
      expect(probs[0]! + probs[1]!).toBeCloseTo(1, 5)
      held.release()
      expect(tf.memory().numTensors).toBe(before)
    } finally {
      await server.stop()
    }
  })

  it('a reload to a tampered version fails cleanly: the old model keeps serving, the response, log and metrics say so', async () => {
    await promote(store.store, {stage: 'Production', version: 2})
    const server = await startTestServer(store.store)
    try {
      // Promotion checks the files, so the damage comes after it, as bit rot or an edit would.
      await promote(store.store, {stage: 'Production', version: 4})
      await tamper(store.paths, 'spirals', 4)
      const res = await call<{error: string; code: string; status: string; model_version: string}>(
        `${server.url}/reload-model`,
        {method: 'POST'},
      )
      // 422, not 500: the stored version is damaged, the server is not failing (src/net/http-error.ts).
      expect(res.status).toBe(422)
      expect(res.body).toMatchObject({status: 'failure', code: 'INTEGRITY', model_version: '2'})
      expect(res.body.error).toMatch(
        /^reload failed: version spirals v4 failed verification: weights\.bin .*; still serving spirals v2$/,
      )
      expect((await call(`${server.url}/health`)).body).toMatchObject({status: 'healthy', model_version: '2'})
      expect((await call(`${server.url}/predict`, {body: ROW})).status).toBe(200)
      expect(await reloads(server.url)).toMatchObject({'failure/api': 1, 'success/startup': 1})
      expect(
        server.log.lines.some((l) => l.startsWith('warn reload failed (api): version spirals v4 failed verification')),
      ).toBe(true)
      expect((await call(`${server.url}/models`)).body).toMatchObject({
        current_version: '2',
        stages: {Production: ['4']},
        last_reload: {trigger: 'api', result: 'failure', error: expect.stringContaining('spirals v4')},
      })
      // Asking for the tampered version by number is refused the same way, and does not stop the
      // server. It is the answer that version deserves, a 422 however often a client asks, so a
      // client repeating it cannot trip the 5xx error-rate alert.
      for (let i = 0; i < 3; i++) {
        const direct = await call<{code: string; error: string}>(`${server.url}/predict`, {
          body: {...ROW, model_version: 4},
        })
        expect(direct.status).toBe(422)
        expect(direct.body.code).toBe('INTEGRITY')
        expect(direct.body.error).toMatch(/^version spirals v4 failed verification: weights\.bin /)
      }
      expect((await call(`${server.url}/predict`, {body: ROW})).status).toBe(200)
      const families = parseExposition(await (await fetch(`${server.url}/metrics`)).text())
      const predicts = families
        .get('inference_requests_total')!
        .samples.filter((s) => s.labels.endpoint === '/predict')
        .map((s) => [s.labels.status, s.value])
      expect(predicts.filter(([status]) => String(status).startsWith('5'))).toEqual([])
      expect(predicts).toContainEqual(['422', 3])
    } finally {
      await server.stop()
    }
  })

  it('concurrent reload calls share the work and all succeed', async () => {
    await promote(store.store, {stage: 'Production', version: 1})
    const server = await startTestServer(store.store)
    try {
      await promote(store.store, {stage: 'Production', version: 3})
      const all = await Promise.all(
        Array.from({length: 5}, () => call<{model_version: string}>(`${server.url}/reload-model`, {method: 'POST'})),
      )
      expect(all.map((r) => [r.status, r.body.model_version])).toEqual(Array(5).fill([200, '3']))
      // One load of v3; later calls found it already served (or shared the queued one).
      expect(server.log.lines.filter((l) => l.includes('reloaded spirals v1 → v3'))).toHaveLength(1)
      expect((await reloads(server.url))['failure/api']).toBe(0)
    } finally {
      await server.stop()
    }
  })

  it('with --watch, a promotion in the registry is picked up; a broken one is reported once and not retried', async () => {
    await promote(store.store, {stage: 'Production', version: 1})
    const server = await startTestServer(store.store, {watch: true, watchIntervalMs: 100})
    try {
      await promote(store.store, {stage: 'Production', version: 3})
      await until('the watcher to load v3', async () => (server.holder.current?.version === 3 ? true : undefined))
      expect(server.log.lines.some((l) => /^info reloaded spirals v1 → v3 \(Production, watch, /.test(l))).toBe(true)

      await promoteUnchecked(store.store, 'spirals', broken)
      await until('the failed reload', async () =>
        (await reloads(server.url))['failure/watch'] === 1 ? true : undefined,
      )
      expect(server.log.lines).toContainEqual(
        `warn reload failed (watch): spirals v${broken} failed its test prediction: test prediction (js) gave a non-finite probability; still serving spirals v3`,
      )
      // Several poll intervals later: still v3, and the broken version was tried once.
      await new Promise((r) => setTimeout(r, 500))
      expect(await reloads(server.url)).toMatchObject({'success/watch': 1, 'failure/watch': 1})
      expect((await call(`${server.url}/health`)).body).toMatchObject({model_version: '3'})

      // Production moving away from the broken version is picked up again.
      await promote(store.store, {stage: 'Production', version: 2})
      await until('the watcher to load v2', async () => (server.holder.current?.version === 2 ? true : undefined))
    } finally {
      await server.stop()
    }
  })

  it('with --watch, a promotion of the served version itself shows in /health, /models and model_info', async () => {
    await promote(store.store, {stage: 'Staging', version: 2})
    const server = await startTestServer(store.store, {watch: true, watchIntervalMs: 100, target: {version: '2'}})
    const info = async () =>
      parseExposition(await (await fetch(`${server.url}/metrics`)).text())
        .get('inference_model_info')!
        .samples.map((s) => s.labels)
    try {
      expect((await call(`${server.url}/health`)).body).toMatchObject({model_version: '2', model_stage: 'Staging'})
      expect(await info()).toEqual([{model: 'spirals', version: '2', stage: 'Staging'}])

      await promote(store.store, {stage: 'Production', version: 2})
      await until('the new stage', async () =>
        (await call<{model_stage: string}>(`${server.url}/health`)).body.model_stage === 'Production'
          ? true
          : undefined,
      )
      expect(await info()).toEqual([{model: 'spirals', version: '2', stage: 'Production'}])
      expect((await call(`${server.url}/models`)).body).toMatchObject({
        current_version: '2',
        current_stage: 'Production',
      })
      expect(server.log.lines).toContainEqual('info spirals v2 is now Production (was Staging)')
      // Nothing was reloaded: the same model object answers.
      expect(await reloads(server.url)).toMatchObject({'success/watch': 0, 'failure/watch': 0})
    } finally {
      await server.stop()
    }
  })

  it('with --watch, a server started on an empty registry loads the first Production version', async () => {
    const empty = await tempDir('morpho-serve-watch-')
    const emptyStore = new FolderStore(empty.path)
    const paths = emptyStore.paths
    const server = await startTestServer(emptyStore, {watch: true, watchIntervalMs: 100})
    try {
      expect(server.holder.current).toBeUndefined()
      // The store folder did not exist when the server started: the poll covers it.
      await cp(store.paths.runDir(store.runId), paths.runDir(store.runId), {recursive: true})
      await registerRun(emptyStore, store.runId)
      await promote(emptyStore, {stage: 'Production', version: 1})
      await until('the first model', async () => (server.holder.current?.version === 1 ? true : undefined))
      expect((await call(`${server.url}/health`)).body).toMatchObject({status: 'healthy', model_version: '1'})
    } finally {
      await server.stop()
      await empty.cleanup()
    }
  })
})
