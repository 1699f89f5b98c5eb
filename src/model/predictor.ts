import type {Tensor2D} from '@tensorflow/tfjs'
import type {Tf} from '../tf/backend.js'
import type {Architecture} from './format.js'
import {MorphoNet} from './network.js'
import type {LoadedModel} from './serialize.js'

/**
 * A loaded model ready to answer: raw feature rows in, class probabilities out. The scaler
 * saved with the model is applied here, so callers never see standardised values.
 *
 * Two implementations with the same contract: TF.js (fast from a few rows up, on wasm) and
 * plain JavaScript over Float32Arrays (no TF.js to load; fastest for one row).
 */
export interface Predictor {
  readonly kind: 'tfjs' | 'js'
  readonly architecture: Architecture
  /** Label value of each output index. */
  readonly classes: number[]
  /** `rows` holds n×inputDim raw features, row-major; returns n×numClasses probabilities. */
  predictProba(rows: Float32Array, n: number): Float32Array
  dispose(): void
}

export function createTfPredictor(tf: Tf, model: LoadedModel): Predictor {
  const {file} = model
  const net = MorphoNet.fromWeights(tf, file.architecture, file.seeds, model.weights, {
    blendSteps: 1,
    progressThresh: 0.5,
  })
  const mean = tf.tensor1d(file.scaler.mean)
  const std = tf.tensor1d(file.scaler.std)
  const d = file.architecture.inputDim
  return {
    kind: 'tfjs',
    architecture: file.architecture,
    classes: file.classes,
    predictProba(rows, n) {
      const probs = tf.tidy(() => {
        const x = tf.div(tf.sub(tf.tensor2d(rows, [n, d]), mean), std) as Tensor2D
        return tf.softmax(net.forward(x))
      })
      // Read outside tidy: tidy walks whatever its callback returns looking for tensors, and a
      // Float32Array is walked value by value (about 10% of a 1024-row prediction).
      try {
        return probs.dataSync() as Float32Array
      } finally {
        probs.dispose()
      }
    },
    dispose() {
      net.dispose()
      mean.dispose()
      std.dispose()
    },
  }
}

interface JsDense {
  w: Float32Array
  b: Float32Array
  inDim: number
  outDim: number
}

interface JsSeed {
  alpha: number
  w1: JsDense
  w2: JsDense
}

export function createJsPredictor(model: LoadedModel): Predictor {
  const {file, weights} = model
  const arch = file.architecture
  const dense = (prefix: string): JsDense => {
    const k = weights.get(`${prefix}/kernel`)
    const b = weights.get(`${prefix}/bias`)
    if (!k || !b) throw new Error(`weights are missing "${prefix}"`)
    return {w: k.values, b: b.values, inDim: k.shape[0], outDim: k.shape[1]}
  }
  const input = dense('input')
  const hidden = Array.from({length: arch.numLayers}, (_, i) => dense(`hidden${i + 1}`))
  const output = dense('output')
  const seedsByLayer: JsSeed[][] = Array.from({length: arch.numLayers}, () => [])
  for (const s of file.seeds) {
    if (s.state === 'dormant' || s.alpha === 0) continue
    const get = (n: string) => weights.get(`${s.id}/${n}`)
    const [w1, b1, w2, b2] = [get('w1'), get('b1'), get('w2'), get('b2')]
    if (!w1 || !b1 || !w2 || !b2) throw new Error(`weights are missing seed "${s.id}"`)
    seedsByLayer[s.layer].push({
      alpha: s.alpha,
      w1: {w: w1.values, b: b1.values, inDim: w1.shape[0], outDim: w1.shape[1]},
      w2: {w: w2.values, b: b2.values, inDim: w2.shape[0], outDim: w2.shape[1]},
    })
  }
  const h = arch.hiddenDim
  const mean = Float32Array.from(file.scaler.mean)
  const std = Float32Array.from(file.scaler.std)
  const x = new Float32Array(arch.inputDim)
  const a = new Float32Array(h)
  const b = new Float32Array(h)
  const wide = new Float32Array(4 * h)
  const child = new Float32Array(h)
  const logits = new Float32Array(arch.numClasses)

  return {
    kind: 'js',
    architecture: arch,
    classes: file.classes,
    predictProba(rows, n) {
      const k = arch.numClasses
      const out = new Float32Array(n * k)
      for (let r = 0; r < n; r++) {
        for (let i = 0; i < arch.inputDim; i++) x[i] = (rows[r * arch.inputDim + i] - mean[i]) / std[i]
        let cur = a
        let next = b
        forwardDense(input, x, cur, true)
        for (let layer = 0; layer < arch.numLayers; layer++) {
          forwardDense(hidden[layer], cur, next, true)
          const seeds = seedsByLayer[layer]
          if (seeds.length > 0) {
            const scale = 1 / arch.seedsPerLayer
            for (const s of seeds) {
              forwardDense(s.w1, next, wide, true)
              forwardDense(s.w2, wide, child, false)
              const f = s.alpha * scale
              for (let j = 0; j < h; j++) next[j] += f * child[j]
            }
          }
          const t = cur
          cur = next
          next = t
        }
        forwardDense(output, cur, logits, false)
        softmaxInto(logits, out, r * k)
      }
      return out
    },
    dispose() {},
  }
}

/** y = xW + b (optionally ReLU); W is [in, out] row-major as TF.js stores it. */
function forwardDense(layer: JsDense, x: Float32Array, y: Float32Array, relu: boolean): void {
  const {w, b, inDim, outDim} = layer
  y.set(b.subarray(0, outDim))
  for (let i = 0; i < inDim; i++) {
    const xi = x[i]
    if (xi === 0) continue
    const row = i * outDim
    for (let j = 0; j < outDim; j++) y[j] += xi * w[row + j]
  }
  if (relu) for (let j = 0; j < outDim; j++) if (y[j] < 0) y[j] = 0
}

function softmaxInto(logits: Float32Array, out: Float32Array, offset: number): void {
  let max = Number.NEGATIVE_INFINITY
  for (const v of logits) if (v > max) max = v
  let sum = 0
  for (let j = 0; j < logits.length; j++) {
    const e = Math.exp(logits[j] - max)
    out[offset + j] = e
    sum += e
  }
  for (let j = 0; j < logits.length; j++) out[offset + j] /= sum
}

/** Index of the largest probability in each row. */
export function argmaxRows(probs: Float32Array, n: number, k: number): Int32Array {
  const out = new Int32Array(n)
  for (let r = 0; r < n; r++) {
    let best = 0
    for (let j = 1; j < k; j++) if (probs[r * k + j] > probs[r * k + best]) best = j
    out[r] = best
  }
  return out
}
