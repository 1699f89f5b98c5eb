import type {Optimizer, Scalar, Tensor2D, Variable} from '@tensorflow/tfjs'
import type {MorphoNet, SeedModule} from '../model/network.js'
import type {Tf} from '../tf/backend.js'
import {KernelStepper} from './kernel-step.js'

/**
 * One optimiser step of the loop: the task loss of a batch (softmax cross-entropy on the
 * logits), the gradients of the variables being trained, and an Adam update of each group of
 * them at its own learning rate. The loop decides which groups train in which phase; a step
 * computes every gradient first and then applies the groups in order, as one
 * `tf.variableGrads` followed by each optimiser's `applyGradients` does.
 *
 * Two implementations compute the same numbers. The reference records the forward pass on
 * TF.js's tape and lets it differentiate; the kernel step (kernel-step.ts) computes the same
 * float32 operations in the same order without the engine, which is where a step's time went.
 * It is used on the wasm and cpu backends, the reference elsewhere (tfjs-node) and with
 * MORPHO_STEP=reference.
 */

export interface Batch {
  /** rows × features, row-major (the array may be longer: only the first rows count). */
  x: Float32Array
  /** rows × classes, one-hot. */
  y: Float32Array
  rows: number
}

/** An Adam optimiser's state for the variables it has updated. */
export interface StepOptimizer {
  dispose(): void
}

export interface StepGroup {
  vars: Variable[]
  opt: StepOptimizer
  lr: number
}

export interface Stepper {
  /** A new Adam (β1 0.9, β2 0.999, ε as the backend's). */
  adam(): StepOptimizer
  /**
   * Loss of the batch, then one update of every group. `shadow` runs one seed at alpha 1 (its
   * shadow pass) while every other seed keeps its live alpha.
   */
  step(batch: Batch, groups: StepGroup[], shadow?: SeedModule): number
  /** The network's logits for some rows, as net.forward gives them (for scoring). Call inside tf.tidy. */
  logits(x: Tensor2D): Tensor2D
  /** Loss and gradients of `vars`, without updating anything. */
  gradients(batch: Batch, vars: Variable[], shadow?: SeedModule): {loss: number; grads: Float32Array[]}
  readonly kind: 'kernels' | 'reference'
}

/**
 * The kernel step where the backend's kernels can be called directly (wasm, cpu), else the
 * reference. MORPHO_STEP=reference forces the reference.
 */
export function createStepper(tf: Tf, net: MorphoNet): Stepper {
  if (process.env.MORPHO_STEP !== 'reference') {
    const kernels = KernelStepper.create(tf, net)
    if (kernels) return kernels
  }
  return new ReferenceStepper(tf, net)
}

/** Forward and backward on TF.js's tape, tf.train.adam for the updates. */
export class ReferenceStepper implements Stepper {
  readonly kind = 'reference'
  private readonly tf: Tf
  private readonly net: MorphoNet

  constructor(tf: Tf, net: MorphoNet) {
    this.tf = tf
    this.net = net
  }

  adam(): StepOptimizer {
    return this.tf.train.adam(1)
  }

  step(batch: Batch, groups: StepGroup[], shadow?: SeedModule): number {
    const {tf} = this
    return this.withBatch(batch, (x, y) =>
      tf.tidy(() => {
        const {value, grads} = tf.variableGrads(
          () => this.lossOf(x, y, shadow),
          groups.flatMap((g) => g.vars),
        )
        for (const group of groups) {
          const opt = group.opt as Optimizer
          // Adam reads learningRate on every update, so a schedule can change it in place.
          ;(opt as unknown as {learningRate: number}).learningRate = group.lr
          opt.applyGradients(pick(grads, group.vars))
        }
        return value.dataSync()[0]!
      }),
    )
  }

  gradients(batch: Batch, vars: Variable[], shadow?: SeedModule): {loss: number; grads: Float32Array[]} {
    const {tf} = this
    return this.withBatch(batch, (x, y) =>
      tf.tidy(() => {
        const {value, grads} = tf.variableGrads(() => this.lossOf(x, y, shadow), vars)
        return {loss: value.dataSync()[0]!, grads: vars.map((v) => grads[v.name]!.dataSync() as Float32Array)}
      }),
    )
  }

  logits(x: Tensor2D): Tensor2D {
    return this.net.forward(x)
  }

  private withBatch<T>(batch: Batch, fn: (x: Tensor2D, y: Tensor2D) => T): T {
    const {tf} = this
    const {inputDim, numClasses} = this.net.arch
    const {rows} = batch
    const x = tf.tensor2d(batch.x.subarray(0, rows * inputDim), [rows, inputDim])
    const y = tf.tensor2d(batch.y.subarray(0, rows * numClasses), [rows, numClasses])
    try {
      return fn(x, y)
    } finally {
      x.dispose()
      y.dispose()
    }
  }

  private lossOf(x: Tensor2D, y: Tensor2D, shadow?: SeedModule): Scalar {
    const logits = this.net.forward(x, {shadow, training: true})
    return this.tf.losses.softmaxCrossEntropy(y, logits) as Scalar
  }
}

function pick(grads: Record<string, unknown>, vars: Variable[]): Record<string, never> {
  const out: Record<string, unknown> = {}
  for (const v of vars) out[v.name] = grads[v.name]
  return out as Record<string, never>
}
