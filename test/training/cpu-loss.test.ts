import type {KernelConfig, KernelFunc, TensorInfo} from '@tensorflow/tfjs'
import {beforeAll, describe, expect, it} from 'vitest'
import {Rng} from '../../src/data/rng.js'
import {MorphoNet} from '../../src/model/network.js'
import type {Tf} from '../../src/tf/backend.js'
import {loadTf} from '../../src/tf/backend.js'
import {KernelStepper} from '../../src/training/kernel-step.js'
import {type Batch, ReferenceStepper} from '../../src/training/step.js'

/**
 * On cpu the kernel step computes the loss's exponentials, logarithms and sums itself, as the
 * backend's JavaScript kernels do (Math.exp, Math.log, a double per sum), once it has checked
 * that they give the backend's bits. The loss and every gradient must be the engine's exactly,
 * with logits large enough to reach exp's and log's hard cases, and a backend whose Exp or Sum
 * is something else must still be followed exactly (its own kernel then computes).
 */

const arch = {inputDim: 3, hiddenDim: 24, numLayers: 2, seedsPerLayer: 1, numClasses: 3}
const rows = 32
let tf: Tf

function batch(seed: number, scale: number): Batch {
  const rng = new Rng(seed)
  const x = new Float32Array(rows * arch.inputDim).map(() => rng.normal() * scale)
  const y = new Float32Array(rows * arch.numClasses)
  for (let r = 0; r < rows; r++) y[r * arch.numClasses + (r % arch.numClasses)] = 1
  return {x, y, rows}
}

/** The loss and gradients of the backbone, through the engine and through the kernel step, on twin networks. */
function both(b: Batch) {
  const nets = [0, 1].map(() =>
    MorphoNet.create(tf, arch, new Rng(4).fork('init'), {blendSteps: 4, progressThresh: 0.02}),
  )
  const kernels = KernelStepper.create(tf, nets[1]!)
  expect(kernels).toBeDefined()
  const [r, k] = [new ReferenceStepper(tf, nets[0]!), kernels!].map((s, i) =>
    s.gradients(b, nets[i]!.backboneVariables),
  )
  for (const n of nets) n.dispose()
  return {reference: r!, kernel: k!}
}

function expectExactlyEqual({reference, kernel}: ReturnType<typeof both>) {
  expect(Object.is(kernel.loss, reference.loss), `loss ${kernel.loss} vs ${reference.loss}`).toBe(true)
  expect(kernel.grads.length).toBe(reference.grads.length)
  for (let i = 0; i < reference.grads.length; i++)
    expect(Array.from(kernel.grads[i]!)).toEqual(Array.from(reference.grads[i]!))
}

describe('the kernel step on cpu, its loss', () => {
  beforeAll(async () => {
    tf = (await loadTf('cpu')).tf
    await tf.setBackend('cpu')
  })

  it.each([1, 30, 400])("gives the engine's loss and gradients bit for bit (inputs scaled by %i)", (scale) => {
    const result = both(batch(scale, scale))
    // Large inputs make large logits: exp of very negative values, a loss far from log(3).
    expect(Number.isFinite(result.reference.loss)).toBe(true)
    expectExactlyEqual(result)
  })

  it.each(['Exp', 'Sum'])('follows a backend whose %s is another: its own kernel computes', (name) => {
    const b = batch(7, 30)
    const before = both(b).reference.loss
    const config = tf.getKernel(name, 'cpu') as KernelConfig
    tf.unregisterKernel(name, 'cpu')
    // The kernel's results one part in 2^20 high: what the reference computes now. Only the
    // sums that take in the last axis, as the loss's do (a sum of everything, or of each row);
    // the gradients' sums over rows stay.
    tf.registerKernel({
      ...config,
      kernelFunc: ((args) => {
        const out = (config.kernelFunc as KernelFunc)(args) as TensorInfo
        const rank = (args.inputs as {x: TensorInfo}).x.shape.length
        const axis = (args.attrs as {axis?: number | number[] | null} | undefined)?.axis
        const axes = axis == null ? [rank - 1] : [axis].flat()
        if (name === 'Sum' && !axes.includes(rank - 1) && !axes.includes(-1)) return out
        const values = (tf.backend() as unknown as {data: {get(id: object): {values: Float32Array}}}).data.get(
          out.dataId,
        ).values
        for (let i = 0; i < values.length; i++) values[i] = values[i]! * (1 + 2 ** -20)
        return out
      }) as KernelFunc,
    })
    try {
      const result = both(b)
      expect(result.reference.loss).not.toBe(before)
      expectExactlyEqual(result)
    } finally {
      tf.unregisterKernel(name, 'cpu')
      tf.registerKernel(config)
    }
    expect(both(b).reference.loss).toBe(before)
  })
})
