import {testPrediction} from '../model/check.js'
import type {ClassLabels} from '../model/model-file.js'
import {createJsPredictor, createTfPredictor, type Predictor} from '../model/predictor.js'
import type {LoadedModel} from '../model/serialize.js'
import type {Tf} from '../tf/backend.js'
import type {PredictorChoice} from './options.js'

/**
 * The forward pass a served model answers with. Two implementations compute the same function:
 * TF.js (on wasm: a nearly flat cost per call, about 100-150 µs for the default network, plus
 * a few µs per row) and plain JavaScript (no per-call cost, but every row costs the full
 * multiply-adds). Small batches go to JavaScript and larger ones to TF.js; where the two
 * costs cross is measured on this model, on this machine, when it is loaded.
 */

export {PREDICTOR_CHOICES, type PredictorChoice} from './options.js'

export interface Forward {
  readonly inputDim: number
  readonly numClasses: number
  /** The label of each output index. */
  readonly classes: ClassLabels
  /** Batches of up to this many rows run in JavaScript; 0 when TF.js takes everything. */
  readonly jsMaxRows: number
  /** "tfjs", "js", or "js ≤ N rows, tfjs above". */
  readonly description: string
  /** Microseconds measured at load: {js per row, tfjs for 1 row, tfjs for 64 rows}. */
  readonly calibration?: {jsRowUs: number; tfOneUs: number; tf64Us: number}
  predictProba(rows: Float32Array, n: number): Float32Array
  dispose(): void
}

export interface ForwardOptions {
  /** TF.js, when it loaded; without it everything runs in JavaScript. */
  tf?: Tf
  choice: PredictorChoice
  /** Milliseconds spent at most on warming up the JIT before the model answers (default 150). */
  warmUpMs?: number
}

/**
 * Builds the forward pass, checks it on a zero row, and warms it up. Throws when the check
 * fails. The warm-up yields to the event loop every few milliseconds, so a reload does not
 * stall the requests the current model is answering meanwhile.
 */
export async function buildForward(loaded: LoadedModel, options: ForwardOptions): Promise<Forward> {
  const arch = loaded.file.architecture
  const js = createJsPredictor(loaded)
  const tf = options.choice !== 'js' && options.tf ? createTfPredictor(options.tf, loaded) : undefined
  try {
    selfTest(loaded, js, tf)
    // Warm both paths before timing them: cold calls would make TF.js look slower than it is.
    const paths = tf && options.choice !== 'tfjs' ? [js, tf] : [tf ?? js]
    await warmUp(paths, arch.inputDim, options.warmUpMs ?? 150)
    return tf ? combine(js, tf, options.choice) : single(js)
  } catch (err) {
    tf?.dispose()
    throw err
  }
}

function single(p: Predictor): Forward {
  return {
    inputDim: p.architecture.inputDim,
    numClasses: p.architecture.numClasses,
    classes: p.classes,
    jsMaxRows: p.kind === 'js' ? Number.POSITIVE_INFINITY : 0,
    description: p.kind,
    predictProba: (rows, n) => p.predictProba(rows, n),
    dispose: () => p.dispose(),
  }
}

function combine(js: Predictor, tf: Predictor, choice: PredictorChoice): Forward {
  if (choice === 'tfjs') return single(tf)
  const calibration = calibrate(js, tf)
  const jsMaxRows = crossover(calibration)
  return {
    inputDim: tf.architecture.inputDim,
    numClasses: tf.architecture.numClasses,
    classes: tf.classes,
    jsMaxRows,
    calibration,
    description: `${jsMaxRows === 0 ? 'tfjs' : `js ≤ ${jsMaxRows} rows, tfjs above`} (measured: js ${round(calibration.jsRowUs)} µs/row; tfjs ${round(calibration.tfOneUs)} µs for 1 row, ${round(calibration.tf64Us)} µs for 64)`,
    predictProba: (rows, n) => (n <= jsMaxRows ? js.predictProba(rows, n) : tf.predictProba(rows, n)),
    dispose: () => tf.dispose(),
  }
}

/**
 * Probabilities for a zero row: finite, summing to 1, and the same from both implementations
 * (a weight read in the wrong layout would pass the first two checks and fail the third).
 */
function selfTest(loaded: LoadedModel, js: Predictor, tf: Predictor | undefined): void {
  const k = loaded.file.architecture.numClasses
  const a = testPrediction(js)
  if (!tf) return
  const b = testPrediction(tf)
  for (let j = 0; j < k; j++) {
    if (Math.abs(a[j]! - b[j]!) > 1e-3) {
      throw new Error(`test prediction differs between TF.js (${b[j]}) and JavaScript (${a[j]}) at class ${j}`)
    }
  }
}

/**
 * Per-call costs of both paths, measured in interleaved rounds so that whatever else the
 * machine does at that moment weighs on both alike. Interference only ever adds time, so each
 * round keeps its fastest call and the estimate is the median over rounds.
 */
function calibrate(js: Predictor, tf: Predictor): {jsRowUs: number; tfOneUs: number; tf64Us: number} {
  const d = js.architecture.inputDim
  const one = new Float32Array(d).fill(0.5)
  const many = new Float32Array(64 * d).fill(0.5)
  const fastest = (fn: () => void, calls: number): number => {
    let best = Number.POSITIVE_INFINITY
    for (let i = 0; i < calls; i++) {
      const t = performance.now()
      fn()
      best = Math.min(best, (performance.now() - t) * 1000)
    }
    return best
  }
  const rounds = {js: [] as number[], one: [] as number[], many: [] as number[]}
  for (let round = 0; round < 15; round++) {
    rounds.js.push(fastest(() => js.predictProba(one, 1), 5))
    rounds.one.push(fastest(() => tf.predictProba(one, 1), 5))
    rounds.many.push(fastest(() => tf.predictProba(many, 64), 2))
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1]!
  return {jsRowUs: median(rounds.js), tfOneUs: median(rounds.one), tf64Us: median(rounds.many)}
}

/** The largest batch for which n rows in JavaScript cost less than one TF.js call (0: none). */
export function crossover(c: {jsRowUs: number; tfOneUs: number; tf64Us: number}): number {
  const perRow = Math.max(0, (c.tf64Us - c.tfOneUs) / 63)
  if (c.jsRowUs <= perRow) return 64
  let n = 0
  while (n < 64 && (n + 1) * c.jsRowUs < c.tfOneUs + n * perRow) n++
  return n
}

/**
 * The first few thousand calls of a fresh forward pass have a long tail while V8 compiles the
 * hot paths (a TF.js predict's p99 fell from 5.5 ms to about 0.2 ms over the first few thousand
 * calls, its median barely moving): pay some of that before the model answers.
 */
async function warmUp(predictors: Predictor[], d: number, budgetMs: number): Promise<void> {
  const deadline = performance.now() + budgetMs
  const sizes = [1, 2, 8, 32, 64, 1]
  const buffers = sizes.map((n) => new Float32Array(n * d).fill(0.25))
  let slice = performance.now()
  for (let round = 0; performance.now() < deadline && round < 200; round++) {
    for (const p of predictors) {
      for (let i = 0; i < sizes.length; i++) {
        // JavaScript is never asked for large batches; do not spend the budget on them.
        if (p.kind === 'js' && predictors.length > 1 && sizes[i]! > 8) continue
        p.predictProba(buffers[i]!, sizes[i]!)
      }
    }
    if (performance.now() - slice > 4) {
      await new Promise((resolve) => setImmediate(resolve))
      slice = performance.now()
    }
  }
}

function round(us: number): number {
  return us >= 100 ? Math.round(us) : Math.round(us * 10) / 10
}
