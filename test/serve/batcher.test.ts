import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {loadModelFiles} from '../../src/model/serialize.js'
import {resolveModel} from '../../src/registry/index.js'
import {MicroBatcher, type PassResult} from '../../src/serve/batcher.js'
import {buildForward, type Forward} from '../../src/serve/forward.js'
import {type TrainedStore, trainedStore} from './helpers.js'

/** A request's rows: `n` rows of 3 features, different for every request. */
function rowsFor(request: number, n: number): Float32Array {
  return Float32Array.from({length: n * 3}, (_, i) => Math.sin(request * 7.1 + i * 0.37) * 3)
}

function submit(batcher: MicroBatcher, rows: Float32Array, n: number): Promise<PassResult> {
  return new Promise((resolve, reject) =>
    batcher.submit(rows, n, (err, result) => (result ? resolve(result) : reject(err))),
  )
}

describe('MicroBatcher: requests that arrive together share one forward pass', () => {
  let store: TrainedStore
  let forward: Forward

  beforeAll(async () => {
    store = await trainedStore(1)
    const resolved = await resolveModel(store.store, {stage: 'Production'})
    forward = await buildForward(await loadModelFiles(resolved.dir!), {choice: 'js', warmUpMs: 0})
  })
  afterAll(async () => {
    forward?.dispose()
    await store?.cleanup()
  })

  it('gives each of many concurrent requests exactly its own rows, computed in one shared pass', async () => {
    const passes: number[] = []
    const batcher = new MicroBatcher(forward, {enabled: true, maxPassRows: 1024, onPass: (rows) => passes.push(rows)})
    const sizes = Array.from({length: 40}, (_, i) => 1 + ((i * 5) % 9))
    const requests = sizes.map((n, i) => ({n, rows: rowsFor(i, n)}))
    const results = await Promise.all(requests.map((r) => submit(batcher, r.rows, r.n)))

    const total = sizes.reduce((a, b) => a + b, 0)
    expect(passes).toEqual([total])
    for (const [i, r] of requests.entries()) {
      // Each answer is the request's own rows, as a pass of that request alone would give them.
      expect(Array.from(results[i]!.probs), `request ${i}`).toEqual(Array.from(forward.predictProba(r.rows, r.n)))
      expect(results[i]!.probs).toHaveLength(r.n * forward.numClasses)
    }
    // Batch-mates share the pass's time.
    expect(new Set(results.map((r) => r.ms)).size).toBe(1)
  })

  it('splits a turn into passes of at most maxPassRows, in arrival order; a larger request runs alone', async () => {
    const passes: number[] = []
    const batcher = new MicroBatcher(forward, {enabled: true, maxPassRows: 10, onPass: (rows) => passes.push(rows)})
    const sizes = [4, 4, 4, 25, 3, 7, 1]
    const requests = sizes.map((n, i) => ({n, rows: rowsFor(100 + i, n)}))
    const results = await Promise.all(requests.map((r) => submit(batcher, r.rows, r.n)))

    expect(passes).toEqual([8, 4, 25, 10, 1])
    for (const [i, r] of requests.entries()) {
      expect(Array.from(results[i]!.probs), `request ${i}`).toEqual(Array.from(forward.predictProba(r.rows, r.n)))
    }
  })

  it('keeps the answers apart when requests keep arriving over several turns of the event loop', async () => {
    const passes: number[] = []
    const batcher = new MicroBatcher(forward, {enabled: true, maxPassRows: 64, onPass: (rows) => passes.push(rows)})
    const pending: {n: number; rows: Float32Array; result: Promise<PassResult>}[] = []
    // Five clients, each sending a request, waiting for its answer, and sending the next.
    await Promise.all(
      Array.from({length: 5}, async (_, client) => {
        for (let k = 0; k < 6; k++) {
          const n = 1 + ((client + k) % 4)
          const rows = rowsFor(client * 10 + k, n)
          const result = submit(batcher, rows, n)
          pending.push({n, rows, result})
          await result
          if (k % 2 === 0) await new Promise((r) => setImmediate(r))
        }
      }),
    )
    expect(pending).toHaveLength(30)
    for (const p of pending)
      expect(Array.from((await p.result).probs)).toEqual(Array.from(forward.predictProba(p.rows, p.n)))
    // Fewer passes than requests: some were shared; every row was predicted once.
    expect(passes.length).toBeLessThan(30)
    expect(passes.reduce((a, b) => a + b, 0)).toBe(pending.reduce((a, p) => a + p.n, 0))
  })

  it('without micro-batching, answers before submit returns, one pass per request', () => {
    const passes: number[] = []
    const batcher = new MicroBatcher(forward, {enabled: false, maxPassRows: 1024, onPass: (rows) => passes.push(rows)})
    const answered: number[] = []
    batcher.submit(rowsFor(1, 2), 2, (_err, result) => answered.push(result!.probs.length))
    batcher.submit(rowsFor(2, 3), 3, (_err, result) => answered.push(result!.probs.length))
    expect(answered).toEqual([2 * forward.numClasses, 3 * forward.numClasses])
    expect(passes).toEqual([2, 3])
  })
})
