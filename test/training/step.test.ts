import type {Variable} from '@tensorflow/tfjs'
import {beforeAll, describe, expect, it} from 'vitest'
import {Rng} from '../../src/data/rng.js'
import {MorphoNet} from '../../src/model/network.js'
import type {Tf} from '../../src/tf/backend.js'
import {loadTf} from '../../src/tf/backend.js'
import {KernelStepper} from '../../src/training/kernel-step.js'
import {type Batch, ReferenceStepper, type StepGroup, type Stepper} from '../../src/training/step.js'

/**
 * The kernel step against the reference (TF.js's tape and tf.train.adam) on twin networks:
 * the same weights, the same batches, the same groups of variables at their learning rates.
 * Gradients and weights after every step must agree to 1e-6 (they agree exactly), on the wasm
 * backend and on cpu, whose products add in doubles over blocks of 48 values (the wide
 * network's 52 columns and 56-row batches cross a block).
 */

const small = {inputDim: 3, hiddenDim: 12, numLayers: 3, seedsPerLayer: 2, numClasses: 3}
const wide = {inputDim: 3, hiddenDim: 52, numLayers: 2, seedsPerLayer: 3, numClasses: 3}
const seedConfig = {blendSteps: 4, progressThresh: 0.02}
let arch = small
let rowsPerBatch = 16

function twin(tf: Tf): MorphoNet {
  return MorphoNet.create(tf, arch, new Rng(11).fork('init'), seedConfig)
}

/** A batch in buffers of rowsPerBatch rows, as the trainer fills them (a short batch leaves the rest unused). */
function batch(seed: number, rows = rowsPerBatch): Batch {
  const rng = new Rng(seed)
  const n = rowsPerBatch
  const x = new Float32Array(n * arch.inputDim).map(() => rng.normal())
  const y = new Float32Array(n * arch.numClasses)
  for (let r = 0; r < n; r++) y[r * arch.numClasses + Math.floor(rng.next() * arch.numClasses)] = 1
  return {x, y, rows}
}

/** Grows seeds in the same way in both networks, their second layers made non-zero so every path carries gradient. */
function grow(tf: Tf, net: MorphoNet): void {
  const rng = new Rng(5)
  const states: [number, 'training' | 'blending' | 'active', number][] = [
    [0, 'active', 1],
    [1, 'blending', 0.5],
    [3, 'training', 0],
    [4, 'active', 1],
  ]
  for (const [index, state, alpha] of states) {
    const seed = net.seeds[index]!
    net.germinate(seed, 1, rng)
    const w2 = new Float32Array(seed.w2!.size).map(() => rng.normal() * 0.1)
    seed.w2!.assign(tf.tensor(w2, seed.w2!.shape))
    if (state !== 'training') seed.life.restore(state, alpha)
  }
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length)
  let worst = 0
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!))
  return worst
}

describe.each([
  ['wasm', 'small'],
  ['cpu', 'small'],
  ['wasm', 'wide'],
  ['cpu', 'wide'],
] as const)('the kernel training step on %s, %s network', (backend, shape) => {
  let tf: Tf
  beforeAll(async () => {
    // The wasm backend loads (and registers) first; cpu is TF.js's own, always registered.
    tf = (await loadTf('wasm')).tf
    await tf.setBackend(backend)
    arch = shape === 'wide' ? wide : small
    rowsPerBatch = shape === 'wide' ? 56 : 16
  })

  function pair() {
    const ref = twin(tf)
    const fast = twin(tf)
    const kernels = KernelStepper.create(tf, fast)
    expect(kernels, `kernels on ${tf.getBackend()}`).toBeDefined()
    return {ref, fast, steppers: [new ReferenceStepper(tf, ref), kernels!] as [Stepper, Stepper]}
  }

  /**
   * The weights, and what TF.js's own forward pass computes from them: the kernel step updates
   * the variables in place, so a product the backend cached on the old values would show here.
   */
  function expectSameWeights(ref: MorphoNet, fast: MorphoNet) {
    const a = ref.namedWeights()
    const b = fast.namedWeights()
    expect(b.map((w) => w.spec.name)).toEqual(a.map((w) => w.spec.name))
    for (let i = 0; i < a.length; i++)
      expect(maxDiff(a[i]!.values, b[i]!.values), a[i]!.spec.name).toBeLessThanOrEqual(1e-6)
    const x = tf.tensor2d(batch(99).x, [rowsPerBatch, arch.inputDim])
    const [la, lb] = [ref, fast].map((n) => tf.tidy(() => n.forward(x).dataSync() as Float32Array))
    expect(maxDiff(la!, lb!)).toBeLessThanOrEqual(1e-6)
    x.dispose()
  }

  function expectSameGradients(
    nets: [MorphoNet, MorphoNet],
    steppers: [Stepper, Stepper],
    b: Batch,
    pick: (n: MorphoNet) => Variable[],
    shadow?: (n: MorphoNet) => MorphoNet['seeds'][number],
  ) {
    const [r, k] = steppers.map((s, i) => s.gradients(b, pick(nets[i]!), shadow?.(nets[i]!)))
    expect(Math.abs(r!.loss - k!.loss)).toBeLessThanOrEqual(1e-6)
    expect(r!.grads.length).toBeGreaterThan(0)
    for (let i = 0; i < r!.grads.length; i++) expect(maxDiff(r!.grads[i]!, k!.grads[i]!)).toBeLessThanOrEqual(1e-6)
  }

  it('gives the reference gradients and Adam updates on the backbone (warm-up)', () => {
    const {ref, fast, steppers} = pair()
    const opts = steppers.map((s) => s.adam())
    for (let step = 0; step < 4; step++) {
      // A short last batch as well as full ones.
      const b = batch(step, step === 3 ? 5 : rowsPerBatch)
      expectSameGradients([ref, fast], steppers, b, (n) => n.backboneVariables)
      const losses = steppers.map((s, i) =>
        s.step(b, [{vars: [ref, fast][i]!.backboneVariables, opt: opts[i]!, lr: 0.01}]),
      )
      expect(Math.abs(losses[0]! - losses[1]!)).toBeLessThanOrEqual(1e-6)
      expectSameWeights(ref, fast)
    }
    for (const o of opts) o.dispose()
    ref.dispose()
    fast.dispose()
  })

  it('gives the reference gradients and updates with live seeds, a seed in its shadow, and several groups', () => {
    const {ref, fast, steppers} = pair()
    grow(tf, ref)
    grow(tf, fast)
    const nets = [ref, fast] as [MorphoNet, MorphoNet]
    const live = (n: MorphoNet) => n.seeds.filter((s) => s.life.state === 'blending' || s.life.state === 'active')
    const shadow = (n: MorphoNet) => n.seeds.find((s) => s.life.state === 'training')!
    const opts = steppers.map((s) => ({head: s.adam(), body: s.adam(), seeds: n4(() => s.adam())}))
    const groups = (i: number): StepGroup[] => {
      const n = nets[i]!
      return [
        {vars: n.headVariables, opt: opts[i]!.head, lr: 0.003},
        {vars: n.bodyVariables, opt: opts[i]!.body, lr: 0.001},
        ...live(n).map((s, j) => ({vars: MorphoNet.seedVariables(s), opt: opts[i]!.seeds[j]!, lr: 0.002})),
      ]
    }
    for (let step = 0; step < 3; step++) {
      const b = batch(10 + step)
      // The live step: head, body and the live seeds; then the shadow pass of the training seed.
      expectSameGradients(nets, steppers, b, (n) => groups(nets.indexOf(n)).flatMap((g) => g.vars))
      for (const [i, s] of steppers.entries()) s.step(b, groups(i))
      expectSameWeights(ref, fast)
      expectSameGradients(nets, steppers, b, (n) => MorphoNet.seedVariables(shadow(n)), shadow)
      for (const [i, s] of steppers.entries()) {
        const seed = shadow(nets[i]!)
        s.step(b, [{vars: MorphoNet.seedVariables(seed), opt: opts[i]!.seeds[3]!, lr: 0.002}], seed)
      }
      expectSameWeights(ref, fast)
    }
    // Head alone (phase 2 before any germination), and one seed's variables alone.
    const b = batch(20)
    expectSameGradients(nets, steppers, b, (n) => n.headVariables)
    expectSameGradients(nets, steppers, b, (n) => MorphoNet.seedVariables(live(n)[2]!))
    for (const o of opts) for (const opt of [o.head, o.body, ...o.seeds]) opt.dispose()
    ref.dispose()
    fast.dispose()
  })

  it("scores with exactly the network's own logits, a row of NaN included", () => {
    const {ref, fast, steppers} = pair()
    grow(tf, ref)
    grow(tf, fast)
    const rows = batch(7).x
    rows.fill(Number.NaN, 0, arch.inputDim)
    const x = tf.tensor2d(rows, [rowsPerBatch, arch.inputDim])
    const [a, b] = steppers.map((s) => tf.tidy(() => s.logits(x).dataSync() as Float32Array))
    const expected = tf.tidy(() => fast.forward(x).dataSync() as Float32Array)
    for (const got of [a!, b!]) {
      expect(got.length).toBe(expected.length)
      for (let i = 0; i < got.length; i++) {
        const same = Number.isNaN(expected[i]!) ? Number.isNaN(got[i]!) : got[i] === expected[i]
        expect(same, `logit ${i}: ${got[i]} vs ${expected[i]}`).toBe(true)
      }
    }
    x.dispose()
    ref.dispose()
    fast.dispose()
  })

  it('leaves no tensor or backend buffer behind', () => {
    const net = twin(tf)
    grow(tf, net)
    const stepper = KernelStepper.create(tf, net)!
    const opt = stepper.adam()
    const vars = [...net.backboneVariables, ...net.seeds.flatMap((s) => MorphoNet.seedVariables(s))]
    stepper.step(batch(1, 8), [{vars, opt, lr: 0.01}])
    const before = tf.memory()
    for (let i = 0; i < 3; i++) stepper.step(batch(2 + i, 8), [{vars, opt, lr: 0.01}])
    stepper.gradients(batch(9, 8), vars, net.seeds[3])
    const x = tf.tensor2d(batch(3, 8).x, [rowsPerBatch, arch.inputDim])
    tf.tidy(() => {
      stepper.logits(x)
    })
    x.dispose()
    expect(tf.memory().numTensors).toBe(before.numTensors)
    expect(tf.memory().numDataBuffers).toBe(before.numDataBuffers)
    opt.dispose()
    net.dispose()
  })
})

function n4<T>(make: () => T): T[] {
  return Array.from({length: 4}, make)
}
