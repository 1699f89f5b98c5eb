import type {Tensor, TensorInfo} from '@tensorflow/tfjs'
import type {Tf} from '../tf/backend.js'
import type {Architecture, ClassLabels, SavedSeed} from './model-file.js'
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
  /** Label of each output index. */
  readonly classes: ClassLabels
  /** `rows` holds n×inputDim raw features, row-major; returns n×numClasses probabilities. */
  predictProba(rows: Float32Array, n: number): Float32Array
  dispose(): void
}

/**
 * The TF.js forward pass, as bare kernel calls. tf.fused.matMul, the op the network uses,
 * reshapes both operands to rank 3 around its one kernel and wraps it for gradients: four
 * engine calls per layer where one does. Here the weights are rank 3 from the start and every
 * layer is one _FusedMatMul, called on the wasm or cpu backend directly (see backendKernels);
 * the seeds' adapters and the softmax run the same kernels as MorphoNet.forward and
 * tf.softmax, in the same order, so the probabilities are bit-identical to the network's (a
 * test holds this, and that no tensor or backend buffer is left behind). On wasm one row
 * costs about a third of the op-level pass.
 */
export function createTfPredictor(tf: Tf, model: LoadedModel): Predictor {
  const {file} = model
  const arch = file.architecture
  const kernels = backendKernels(tf) ?? engineKernels(tf)
  const owned: Tensor[] = []
  const keep = <T extends Tensor>(t: T): T => {
    owned.push(t)
    return t
  }
  const dense = (kernel: Weight, bias: Weight, relu: boolean): KernelDense => ({
    w: keep(tf.tensor3d(kernel.values, [1, kernel.shape[0]!, kernel.shape[1]!])),
    b: keep(tf.tensor1d(bias.values)),
    attrs: {transposeA: false, transposeB: false, activation: relu ? 'relu' : 'linear', leakyreluAlpha: 0.2},
  })
  try {
    const layers = servedLayers(model, dense)
    const {input, hidden, output} = layers
    // Alpha as a tensor, except at 1: the network skips the multiply there, and so does this pass.
    const seedsByLayer = layers.seedsByLayer.map((seeds) =>
      seeds.map((seed) => ({...seed, scale: seed.alpha === 1 ? undefined : keep(tf.scalar(seed.alpha))})),
    )
    const perLayer = arch.seedsPerLayer > 1 ? keep(tf.scalar(arch.seedsPerLayer)) : undefined
    const mean = Float32Array.from(file.scaler.mean)
    const std = Float32Array.from(file.scaler.std)
    const d = arch.inputDim

    return {
      kind: 'tfjs',
      architecture: arch,
      classes: file.classes,
      predictProba(rows, n) {
        // Standardised here, each step rounded to float32 as TF.js's sub and div round it.
        const x = new Float32Array(n * d)
        for (let i = 0; i < n * d; i++) {
          const c = i % d
          x[i] = Math.fround(Math.fround(rows[i]! - mean[c]!) / std[c]!)
        }
        const made: TensorInfo[] = []
        const run = (kernel: string, inputs: Record<string, TensorInfo>, attrs?: object): TensorInfo => {
          const out = kernels.run(kernel, inputs, attrs)
          made.push(out)
          return out
        }
        const dense = (a: TensorInfo, l: KernelDense) => run('_FusedMatMul', {a, b: l.w, bias: l.b}, l.attrs)
        try {
          const x3 = kernels.input(x, [1, n, d])
          made.push(x3)
          let h = dense(x3, input)
          for (let i = 0; i < arch.numLayers; i++) {
            h = dense(h, hidden[i]!)
            let sum: TensorInfo | undefined
            for (const seed of seedsByLayer[i]!) {
              let c = dense(dense(h, seed.inner), seed.outer)
              if (seed.scale) c = run('Multiply', {a: c, b: seed.scale})
              sum = sum ? run('Add', {a: sum, b: c}) : c
            }
            if (sum) h = run('Add', {a: h, b: perLayer ? run('RealDiv', {a: sum, b: perLayer}) : sum})
          }
          const probs = run('Softmax', {logits: dense(h, output)}, {dim: 2})
          return kernels.read(probs)
        } finally {
          for (const t of made) kernels.free(t)
        }
      },
      dispose() {
        for (const t of owned) t.dispose()
      },
    }
  } catch (err) {
    for (const t of owned) t.dispose()
    throw err
  }
}

/** The few things the forward pass asks of TF.js: an input, a kernel call, a read, a free. */
interface Kernels {
  input(values: Float32Array, shape: number[]): TensorInfo
  run(kernel: string, inputs: Record<string, TensorInfo>, attrs?: object): TensorInfo
  read(t: TensorInfo): Float32Array
  free(t: TensorInfo): void
}

const KERNELS = ['_FusedMatMul', 'Multiply', 'Add', 'RealDiv', 'Softmax']

function engineKernels(tf: Tf): Kernels {
  const engine = tf.engine()
  return {
    input: (values, shape) => tf.tensor(values, shape, 'float32'),
    run: (kernel, inputs, attrs) => engine.runKernel(kernel, inputs as never, attrs as never) as Tensor,
    read: (t) => (t as Tensor).dataSync() as Float32Array,
    free: (t) => (t as Tensor).dispose(),
  }
}

interface DirectBackend {
  write(values: Float32Array, shape: number[], dtype: 'float32'): object
  readSync(dataId: object): unknown
  disposeData(dataId: object, force?: boolean): boolean
}

/**
 * The wasm and cpu backends' kernels, called as those backends' own kernels call each other:
 * on bare tensor records, without the engine's bookkeeping (scopes, tracking, profiling) that
 * costs a few microseconds per call. The same kernels on the same inputs, so the same
 * numbers. Other backends (tfjs-node) go through the engine.
 */
function backendKernels(tf: Tf): Kernels | undefined {
  const name = tf.getBackend()
  if (name !== 'wasm' && name !== 'cpu') return undefined
  const backend = tf.backend() as unknown as DirectBackend
  const funcs = new Map<string, (args: {inputs: object; attrs?: object; backend: unknown}) => unknown>()
  for (const kernel of KERNELS) {
    const config = tf.getKernel(kernel, name)
    if (!config) return undefined
    funcs.set(kernel, config.kernelFunc as never)
  }
  return {
    input: (values, shape) => ({dataId: backend.write(values, shape, 'float32'), shape, dtype: 'float32'}),
    run: (kernel, inputs, attrs) => funcs.get(kernel)!({inputs, attrs: attrs ?? {}, backend}) as TensorInfo,
    read: (t) => backend.readSync(t.dataId) as Float32Array,
    free: (t) => void backend.disposeData(t.dataId),
  }
}

export type Weight = LoadedModel['weights'] extends Map<string, infer W> ? W : never

/** The layers a served model computes, each made by the caller from its kernel and bias. */
export interface ServedLayers<D> {
  input: D
  hidden: D[]
  output: D
  /** Per backbone layer, the seeds that add anything, with their alpha. */
  seedsByLayer: {id: string; alpha: number; inner: D; outer: D}[][]
}

/**
 * Reads a saved model's weights in the network's layout (input, hidden blocks, output, and
 * each live seed's two dense layers), for both predictors. `dense` turns one layer's kernel
 * and bias into whatever the predictor computes with; `relu` says whether the layer has one.
 * The exporters (ONNX, TF.js) read the same layout, so what they write is what morpho serves.
 */
export function servedLayers<D>(
  model: LoadedModel,
  dense: (kernel: Weight, bias: Weight, relu: boolean) => D,
): ServedLayers<D> {
  const weight = (name: string) => {
    const w = model.weights.get(name)
    if (!w) throw new Error(`weights are missing "${name}"`)
    return w
  }
  const layer = (kernel: string, bias: string, relu: boolean) => dense(weight(kernel), weight(bias), relu)
  const arch = model.file.architecture
  const input = layer('input/kernel', 'input/bias', true)
  const hidden = Array.from({length: arch.numLayers}, (_, i) =>
    layer(`hidden${i + 1}/kernel`, `hidden${i + 1}/bias`, true),
  )
  const output = layer('output/kernel', 'output/bias', false)
  const seedsByLayer: ServedLayers<D>['seedsByLayer'] = Array.from({length: arch.numLayers}, () => [])
  for (const s of model.file.seeds) {
    const alpha = servedAlpha(s)
    if (alpha === 0) continue
    seedsByLayer[s.layer]!.push({
      id: s.id,
      alpha,
      inner: layer(`${s.id}/w1`, `${s.id}/b1`, true),
      outer: layer(`${s.id}/w2`, `${s.id}/b2`, false),
    })
  }
  return {input, hidden, output, seedsByLayer}
}

/** As SeedLifecycle.alpha: an active seed adds all of its adapter, a blending one its part, others none. */
function servedAlpha(seed: SavedSeed): number {
  return seed.state === 'active' ? 1 : seed.state === 'blending' ? seed.alpha : 0
}

interface KernelDense {
  /** [1, in, out]. */
  w: Tensor
  b: Tensor
  attrs: {transposeA: boolean; transposeB: boolean; activation: 'relu' | 'linear'; leakyreluAlpha: number}
}

interface JsDense {
  w: Float32Array
  b: Float32Array
  inDim: number
  outDim: number
}

export function createJsPredictor(model: LoadedModel): Predictor {
  const {file} = model
  const arch = file.architecture
  const {input, hidden, output, seedsByLayer} = servedLayers(
    model,
    (k, b): JsDense => ({w: k.values, b: b.values, inDim: k.shape[0]!, outDim: k.shape[1]!}),
  )
  const h = arch.hiddenDim
  const mean = Float32Array.from(file.scaler.mean)
  const std = Float32Array.from(file.scaler.std)
  const x = new Float32Array(arch.inputDim)
  const a = new Float32Array(h)
  const b = new Float32Array(h)
  const wide = new Float32Array(4 * h)
  const child = new Float32Array(h)
  const adapted = new Float32Array(h)
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
            // Every adapter reads the layer's output before any adapter is added to it.
            const scale = 1 / arch.seedsPerLayer
            adapted.fill(0)
            for (const s of seeds) {
              forwardDense(s.inner, next, wide, true)
              forwardDense(s.outer, wide, child, false)
              const f = s.alpha * scale
              for (let j = 0; j < h; j++) adapted[j] += f * child[j]
            }
            for (let j = 0; j < h; j++) next[j] += adapted[j]
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

/** Index of the largest of the `k` probabilities that start at `base` (the first one on a tie). */
export function argmaxRow(probs: Float32Array, base: number, k: number): number {
  let best = 0
  for (let j = 1; j < k; j++) if (probs[base + j]! > probs[base + best]!) best = j
  return best
}

/** Index of the largest probability in each row. */
export function argmaxRows(probs: Float32Array, n: number, k: number): Int32Array {
  const out = new Int32Array(n)
  for (let r = 0; r < n; r++) out[r] = argmaxRow(probs, r * k, k)
  return out
}

/**
 * The first row with a value that is not a probability (NaN or ±Infinity: features so far out
 * of range that the network overflows), or -1 when every row is sound.
 */
export function firstNonFiniteRow(probs: Float32Array, n: number, k: number): number {
  for (let i = 0; i < n * k; i++) {
    const p = probs[i]!
    if (!(p >= 0 && p <= 1)) return Math.floor(i / k)
  }
  return -1
}
