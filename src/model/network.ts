import type {Tensor, Tensor2D, Variable} from '@tensorflow/tfjs'
import type {Rng} from '../data/rng.js'
import type {Tf} from '../tf/backend.js'
import type {Architecture, SavedSeed, WeightSpec} from './model-file.js'
import {type SeedConfig, SeedLifecycle, seedId} from './seeds.js'

/**
 * The morphogenetic network, the original's topology: Linear(in→H)+ReLU, numLayers blocks of
 * Linear(H→H)+ReLU followed by that layer's seeds, then Linear(H→classes) giving logits.
 *
 * A seed is a residual adapter x + alpha·child(x), child = Linear(H→4H), ReLU, Linear(4H→H).
 * Its second layer starts at zero, so germination alone never changes the function; with
 * several seeds in a layer their contributions are averaged (all dormant → identity).
 * Dormant seeds own no tensors at all.
 */

export interface Dense {
  kernel: Variable
  bias: Variable
}

export interface SeedModule {
  life: SeedLifecycle
  w1?: Variable
  b1?: Variable
  w2?: Variable
  b2?: Variable
}

export type NamedWeights = {spec: WeightSpec; values: Float32Array}[]

export class MorphoNet {
  readonly tf: Tf
  readonly arch: Architecture
  readonly input: Dense
  readonly hidden: Dense[]
  readonly output: Dense
  readonly seeds: SeedModule[]

  private constructor(tf: Tf, arch: Architecture, input: Dense, hidden: Dense[], output: Dense, seeds: SeedModule[]) {
    this.tf = tf
    this.arch = arch
    this.input = input
    this.hidden = hidden
    this.output = output
    this.seeds = seeds
  }

  /**
   * Fresh weights from a seeded generator (TF.js initialisers ignore seeds). He-uniform
   * kernels and zero biases keep the signal alive through the deep ReLU stack; the
   * original's PyTorch default (±1/√fan_in) shrinks activations about 6× per layer.
   */
  static create(tf: Tf, arch: Architecture, rng: Rng, seedConfig: SeedConfig): MorphoNet {
    const dense = (fanIn: number, fanOut: number): Dense => ({
      kernel: owned(tf, tf.tensor2d(heUniform(rng, fanIn, fanOut), [fanIn, fanOut])),
      bias: owned(tf, tf.zeros([fanOut])),
    })
    const input = dense(arch.inputDim, arch.hiddenDim)
    const hidden = Array.from({length: arch.numLayers}, () => dense(arch.hiddenDim, arch.hiddenDim))
    const output = dense(arch.hiddenDim, arch.numClasses)
    return new MorphoNet(tf, arch, input, hidden, output, makeSeeds(arch, seedConfig))
  }

  /** Rebuilds a saved network; the weights come in the order of `specs`. */
  static fromWeights(
    tf: Tf,
    arch: Architecture,
    savedSeeds: SavedSeed[],
    weights: Map<string, {shape: number[]; values: Float32Array}>,
    seedConfig: SeedConfig,
  ): MorphoNet {
    const take = (name: string): Variable => {
      const w = weights.get(name)
      if (!w) throw new Error(`weights are missing "${name}"`)
      return owned(tf, tf.tensor(w.values, w.shape))
    }
    const dense = (prefix: string): Dense => ({kernel: take(`${prefix}/kernel`), bias: take(`${prefix}/bias`)})
    const seeds = makeSeeds(arch, seedConfig)
    const byId = new Map(savedSeeds.map((s) => [s.id, s]))
    for (const seed of seeds) {
      const saved = byId.get(seed.life.id)
      if (!saved || saved.state === 'dormant') continue
      seed.life.restore(saved.state, saved.alpha)
      seed.w1 = take(`${seed.life.id}/w1`)
      seed.b1 = take(`${seed.life.id}/b1`)
      seed.w2 = take(`${seed.life.id}/w2`)
      seed.b2 = take(`${seed.life.id}/b2`)
    }
    return new MorphoNet(
      tf,
      arch,
      dense('input'),
      Array.from({length: arch.numLayers}, (_, i) => dense(`hidden${i + 1}`)),
      dense('output'),
      seeds,
    )
  }

  /** Gives a dormant seed its tensors: kaiming-normal first layer, zero second layer. */
  germinate(seed: SeedModule, epoch: number, rng: Rng): void {
    const {tf} = this
    const h = this.arch.hiddenDim
    const std = Math.sqrt(2 / h)
    const w1 = new Float32Array(h * 4 * h)
    for (let i = 0; i < w1.length; i++) w1[i] = rng.normal() * std
    seed.life.germinate(epoch)
    seed.w1 = owned(tf, tf.tensor2d(w1, [h, 4 * h]))
    seed.b1 = owned(tf, tf.zeros([4 * h]))
    seed.w2 = owned(tf, tf.zeros([4 * h, h]))
    seed.b2 = owned(tf, tf.zeros([h]))
  }

  seedsOfLayer(layer: number): SeedModule[] {
    const s = this.arch.seedsPerLayer
    return this.seeds.slice(layer * s, (layer + 1) * s)
  }

  get backboneVariables(): Variable[] {
    return [this.input, ...this.hidden, this.output].flatMap((d) => [d.kernel, d.bias])
  }

  /** The backbone below the head: the input layer and the hidden blocks. */
  get bodyVariables(): Variable[] {
    return [this.input, ...this.hidden].flatMap((d) => [d.kernel, d.bias])
  }

  get headVariables(): Variable[] {
    return [this.output.kernel, this.output.bias]
  }

  static seedVariables(seed: SeedModule): Variable[] {
    return seed.w1 ? [seed.w1, seed.b1!, seed.w2!, seed.b2!] : []
  }

  /**
   * Logits for a batch. `shadow` runs one training seed at alpha 1 (its shadow pass) while
   * every other seed keeps its live alpha. Call inside tf.tidy.
   */
  forward(x: Tensor2D, options: {shadow?: SeedModule; training?: boolean} = {}): Tensor2D {
    return this.forwardWithTaps(x, options).logits
  }

  /** The forward pass, also returning each layer's block output (the seeds' input). */
  forwardWithTaps(
    x: Tensor2D,
    options: {shadow?: SeedModule; training?: boolean; taps?: boolean} = {},
  ): {logits: Tensor2D; taps: Tensor2D[]} {
    const {tf} = this
    const taps: Tensor2D[] = []
    let h = this.dense(x, this.input, true, options.training)
    for (let layer = 0; layer < this.arch.numLayers; layer++) {
      h = this.dense(h, this.hidden[layer], true, options.training)
      if (options.taps) taps.push(h)
      let sum: Tensor | undefined
      for (const seed of this.seedsOfLayer(layer)) {
        const alpha = seed === options.shadow ? 1 : seed.life.alpha
        if (alpha === 0 || !seed.w1) continue
        let c: Tensor = this.child(h, seed, options.training)
        if (alpha !== 1) c = tf.mul(c, alpha)
        sum = sum ? tf.add(sum, c) : c
      }
      if (sum) {
        const s = this.arch.seedsPerLayer
        h = tf.add(h, s > 1 ? tf.div(sum, s) : sum) as Tensor2D
      }
    }
    return {logits: this.dense(h, this.output, false, options.training), taps}
  }

  child(h: Tensor2D, seed: SeedModule, training?: boolean): Tensor2D {
    const inner = this.dense(h, {kernel: seed.w1!, bias: seed.b1!}, true, training)
    return this.dense(inner, {kernel: seed.w2!, bias: seed.b2!}, false, training)
  }

  private dense(x: Tensor2D, layer: Dense, relu: boolean, training?: boolean): Tensor2D {
    const {tf} = this
    const kernel = layer.kernel as unknown as Tensor2D
    if (!training) {
      // Fused matMul+bias(+relu) is a single kernel when no gradient is recorded.
      return tf.fused.matMul({a: x, b: kernel, bias: layer.bias, activation: relu ? 'relu' : 'linear'}) as Tensor2D
    }
    const y = this.linear(x, kernel, layer.bias)
    return relu ? (tf.relu(y) as Tensor2D) : y
  }

  /**
   * x·W + b with a hand-written gradient: TF.js's own gradient multiplies by transposed
   * operands (transposeA/B), which the wasm backend runs about 8× slower than an explicit
   * transpose followed by a plain matMul.
   */
  private get linear(): (x: Tensor2D, w: Tensor2D, b: Tensor) => Tensor2D {
    this.linearOp ??= this.tf.customGrad((x, w, b, save) => {
      const {tf} = this
      ;(save as (tensors: Tensor[]) => void)([x as Tensor2D, w as Tensor2D])
      return {
        value: tf.fused.matMul({a: x as Tensor2D, b: w as Tensor2D, bias: b as Tensor}),
        gradFunc: (dy, saved) => {
          const [sx, sw] = saved as Tensor2D[]
          const g = dy as Tensor2D
          return [tf.matMul(g, tf.transpose(sw)), tf.matMul(tf.transpose(sx), g), tf.sum(g, 0)]
        },
      }
    }) as unknown as (x: Tensor2D, w: Tensor2D, b: Tensor) => Tensor2D
    return this.linearOp
  }

  private linearOp?: (x: Tensor2D, w: Tensor2D, b: Tensor) => Tensor2D

  /** Every weight with its saved name; dormant seeds have none (their adapter is zero). */
  namedWeights(): NamedWeights {
    const out: NamedWeights = []
    const push = (name: string, v: Variable) =>
      out.push({spec: {name, shape: v.shape.slice(), dtype: 'float32'}, values: v.dataSync() as Float32Array})
    const dense = (prefix: string, d: Dense) => {
      push(`${prefix}/kernel`, d.kernel)
      push(`${prefix}/bias`, d.bias)
    }
    dense('input', this.input)
    for (const [i, d] of this.hidden.entries()) dense(`hidden${i + 1}`, d)
    dense('output', this.output)
    for (const seed of this.seeds) {
      if (!seed.w1) continue
      push(`${seed.life.id}/w1`, seed.w1)
      push(`${seed.life.id}/b1`, seed.b1!)
      push(`${seed.life.id}/w2`, seed.w2!)
      push(`${seed.life.id}/b2`, seed.b2!)
    }
    return out
  }

  savedSeeds(): SavedSeed[] {
    return this.seeds.map((s) => ({id: s.life.id, layer: s.life.layer, state: s.life.state, alpha: s.life.alpha}))
  }

  parameterCount(): number {
    const count = (v: Variable[]) => v.reduce((n, t) => n + t.size, 0)
    return count(this.backboneVariables) + this.seeds.reduce((n, s) => n + count(MorphoNet.seedVariables(s)), 0)
  }

  dispose(): void {
    for (const v of this.backboneVariables) v.dispose()
    for (const s of this.seeds) for (const v of MorphoNet.seedVariables(s)) v.dispose()
  }
}

/**
 * A variable made from a fresh tensor, which is then released: the variable keeps its own
 * copy, and an undisposed source would stay registered after dispose(), once per weight.
 */
function owned(tf: Tf, source: Tensor): Variable {
  const variable = tf.variable(source)
  source.dispose()
  return variable
}

function makeSeeds(arch: Architecture, config: SeedConfig): SeedModule[] {
  const seeds: SeedModule[] = []
  for (let layer = 0; layer < arch.numLayers; layer++) {
    for (let j = 0; j < arch.seedsPerLayer; j++) seeds.push({life: new SeedLifecycle(seedId(layer, j), layer, config)})
  }
  return seeds
}

function heUniform(rng: Rng, fanIn: number, fanOut: number): Float32Array {
  const limit = Math.sqrt(6 / fanIn)
  const out = new Float32Array(fanIn * fanOut)
  for (let i = 0; i < out.length; i++) out[i] = (rng.next() * 2 - 1) * limit
  return out
}
