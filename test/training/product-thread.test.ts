import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {Rng} from '../../src/data/rng.js'
import {MorphoNet} from '../../src/model/network.js'
import type {Tf} from '../../src/tf/backend.js'
import {loadTf} from '../../src/tf/backend.js'
import {KernelStepper} from '../../src/training/kernel-step.js'
import {ProductThread} from '../../src/training/product-thread.js'
import {SHARED_PAGES, simdKernels} from '../../src/training/simd.js'
import type {StepGroup} from '../../src/training/step.js'

/**
 * The cpu step's second thread: a band of a product's columns computed there is the band one
 * thread computes, bit for bit; a whole training step split across the two gives one thread's
 * weights exactly; and a thread that fails leaves the step to compute every band itself.
 */

const BLOCK = 48
let tf: Tf
const threads = process.env.MORPHO_TRAIN_THREADS

beforeAll(async () => {
  tf = (await loadTf('cpu')).tf
  await tf.setBackend('cpu')
  // Whatever the machine's cores: these tests are about the second thread.
  process.env.MORPHO_TRAIN_THREADS = '2'
  expect(await ProductThread.get()!.started).toBe(true)
})

afterAll(() => {
  ProductThread.stop()
  if (threads === undefined) delete process.env.MORPHO_TRAIN_THREADS
  else process.env.MORPHO_TRAIN_THREADS = threads
})

/** A shared memory holding A (m×k) and B (k×n) at 0 and after it, the output and scratch after them. */
function operands(m: number, k: number, n: number) {
  const memory = new WebAssembly.Memory({initial: 64, maximum: SHARED_PAGES, shared: true})
  const kernels = simdKernels(memory)!
  expect(kernels).toBeDefined()
  const heap = new Float32Array(memory.buffer)
  const rng = new Rng(m + k + n)
  const at = {a: 0, b: m * k * 4, out: (m * k + k * n) * 4, out2: (m * k + k * n + m * n) * 4}
  const scratch = [at.out2 + m * n * 4, at.out2 + m * n * 4 + (m * k + k * n) * 8]
  heap.set(
    Float32Array.from({length: m * k + k * n}, () => rng.normal()),
    0,
  )
  const read = (offset: number) => Array.from(heap.subarray(offset / 4, offset / 4 + m * n))
  return {memory, kernels, at, scratch, read}
}

describe('a product split across two threads', () => {
  it.each([
    [64, 128, 128, 64],
    [64, 100, 100, 52],
    [37, 53, 30, 16],
  ])('%i×%i×%i, columns from %i on the thread: the whole product, bit for bit', (m, k, n, left) => {
    const {memory, kernels, at, scratch, read} = operands(m, k, n)
    kernels.gemm64(at.a, k * 4, 4, at.b, n * 4, 4, at.out, n * 4, m, k, n, BLOCK, scratch[0]!)
    const thread = ProductThread.get()!
    const bands = thread.bands
    const right = [at.a, k * 4, 4, at.b + left * 4, n * 4, 4, at.out2 + left * 4, n * 4, m, k, n - left, BLOCK]
    expect(thread.postGemm64(memory, kernels.module, [...right, scratch[1]!])).toBe(true)
    // Here the thread is given the time to take the band (a step computes its own meanwhile).
    const deadline = Date.now() + 5000
    while (!thread.taken && Date.now() < deadline);
    expect(thread.taken).toBe(true)
    kernels.gemm64(at.a, k * 4, 4, at.b, n * 4, 4, at.out2, n * 4, m, k, left, BLOCK, scratch[0]!)
    expect(thread.finish()).toBe('done')
    expect(thread.bands).toBe(bands + 1)
    expect(read(at.out2)).toEqual(read(at.out))
  })

  it('gives the whole product when the band goes to whichever thread gets to it first', () => {
    const [m, k, n, left] = [64, 96, 96, 48]
    const {memory, kernels, at, scratch, read} = operands(m, k, n)
    kernels.gemm64(at.a, k * 4, 4, at.b, n * 4, 4, at.out, n * 4, m, k, n, BLOCK, scratch[0]!)
    const thread = ProductThread.get()!
    const right = [at.a, k * 4, 4, at.b + left * 4, n * 4, 4, at.out2 + left * 4, n * 4, m, k, n - left, BLOCK]
    for (let round = 0; round < 50; round++) {
      new Float32Array(memory.buffer, at.out2, m * n).fill(Number.NaN)
      expect(thread.postGemm64(memory, kernels.module, [...right, scratch[1]!])).toBe(true)
      kernels.gemm64(at.a, k * 4, 4, at.b, n * 4, 4, at.out2, n * 4, m, k, left, BLOCK, scratch[0]!)
      const who = thread.finish()
      expect(who).not.toBe('failed')
      if (who === 'mine') (kernels.gemm64 as (...args: number[]) => void)(...right, scratch[0]!)
      expect(read(at.out2)).toEqual(read(at.out))
    }
  })
})

describe('the cpu training step on two threads', () => {
  // Products of 64 rows through 100 columns: large enough to be split.
  const arch = {inputDim: 3, hiddenDim: 100, numLayers: 2, seedsPerLayer: 3, numClasses: 3}
  const rows = 64

  function batch(seed: number) {
    const rng = new Rng(seed)
    const x = new Float32Array(rows * arch.inputDim).map(() => rng.normal())
    const y = new Float32Array(rows * arch.numClasses)
    for (let r = 0; r < rows; r++) y[r * arch.numClasses + Math.floor(rng.next() * arch.numClasses)] = 1
    return {x, y, rows}
  }

  /** Trains a fresh network 3 steps (live seeds, a seed's shadow pass) with MORPHO_TRAIN_THREADS `threads`; its weights. */
  function train(threads: '1' | '2') {
    process.env.MORPHO_TRAIN_THREADS = threads
    const net = MorphoNet.create(tf, arch, new Rng(11).fork('init'), {blendSteps: 4, progressThresh: 0.02})
    const rng = new Rng(5)
    for (const [index, state] of [
      [0, 'active'],
      [2, 'training'],
    ] as const) {
      const seed = net.seeds[index]!
      net.germinate(seed, 1, rng)
      seed.w2!.assign(
        tf.tensor(
          new Float32Array(seed.w2!.size).map(() => rng.normal() * 0.1),
          seed.w2!.shape,
        ),
      )
      if (state === 'active') seed.life.restore('active', 1)
    }
    const stepper = KernelStepper.create(tf, net)!
    process.env.MORPHO_TRAIN_THREADS = '2'
    const [body, head, live, shadow] = [stepper.adam(), stepper.adam(), stepper.adam(), stepper.adam()]
    const groups: StepGroup[] = [
      {vars: net.bodyVariables, opt: body, lr: 0.001},
      {vars: net.headVariables, opt: head, lr: 0.003},
      {vars: MorphoNet.seedVariables(net.seeds[0]!), opt: live, lr: 0.002},
    ]
    const losses: number[] = []
    for (let step = 0; step < 3; step++) {
      losses.push(stepper.step(batch(step), groups))
      stepper.step(batch(step), [{vars: MorphoNet.seedVariables(net.seeds[2]!), opt: shadow, lr: 0.002}], net.seeds[2])
    }
    const x = tf.tensor2d(batch(9).x, [rows, arch.inputDim])
    const logits = tf.tidy(() => Array.from(stepper.logits(x).dataSync()))
    x.dispose()
    const weights = net.namedWeights().map((w) => [w.spec.name, Array.from(w.values)])
    for (const o of [body, head, live, shadow]) o.dispose()
    net.dispose()
    return {losses, weights, logits}
  }

  it("splits its products and gives one thread's losses, weights and logits bit for bit", () => {
    const thread = ProductThread.get()!
    const one = train('1')
    const before = thread.bands
    const two = train('2')
    // 3 steps and their shadow passes, 2 blocks: forward, weight and input gradients, and the logits.
    expect(thread.bands - before).toBeGreaterThanOrEqual(12)
    expect(two.losses).toEqual(one.losses)
    expect(two.weights).toEqual(one.weights)
    expect(two.logits).toEqual(one.logits)
  })

  it('computes every band itself once the thread has failed', () => {
    const one = train('1')
    const thread = ProductThread.get()!
    // A product reading past the end of its memory traps on the thread.
    const {memory, kernels} = operands(4, 4, 8)
    const outside = memory.buffer.byteLength
    expect(thread.postGemm64(memory, kernels.module, [outside, 16, 4, 0, 32, 4, 0, 32, 4, 4, 8, BLOCK, 0])).toBe(true)
    const deadline = Date.now() + 5000
    while (!thread.taken && Date.now() < deadline);
    expect(thread.finish()).toBe('failed')
    expect(thread.ready).toBe(false)
    const bands = thread.bands
    expect(train('2').weights).toEqual(one.weights)
    expect(thread.bands).toBe(bands)
  })
})
