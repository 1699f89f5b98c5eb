import type {Tensor2D} from '@tensorflow/tfjs'
import type {MorphoNet} from '../model/network.js'
import type {Tf} from '../tf/backend.js'

/**
 * Scores a network on a set of rows: mean negative log-likelihood, accuracy, and expected
 * calibration error. The validation split is scored this way every epoch and the test set
 * once, on the saved model, so the two numbers mean the same thing.
 */

export interface Scores {
  /** Mean cross-entropy of the true class (NLL). */
  loss: number
  acc: number
  /**
   * Expected calibration error: rows binned by confidence (the top probability) into
   * ECE_BINS equal-width bins; the row-weighted mean of |accuracy − mean confidence| per bin.
   */
  ece: number
}

export const ECE_BINS = 15

/** Rows scored per forward pass unless told fewer, so a large set never needs one huge tensor. */
const CHUNK = 2048

export interface ScoreOptions {
  /** Rows per forward pass. */
  chunk?: number
  /** Awaited before each pass; true stops the scoring (every score is then NaN). */
  between?: () => Promise<boolean>
  /** The network's logits for some rows, if not net.forward (the training step's own, same values). */
  forward?: (x: Tensor2D) => Tensor2D
}

/** Standardised rows with class indices, kept on the backend for repeated scoring. */
export class ScoringSet {
  readonly x: Tensor2D
  readonly y: Int32Array
  readonly n: number
  readonly features: number

  constructor(tf: Tf, x: Float32Array, y: Int32Array, n: number, features: number) {
    this.x = tf.tensor2d(x, [n, features])
    this.y = y
    this.n = n
    this.features = features
  }

  dispose(): void {
    this.x.dispose()
  }
}

export async function score(tf: Tf, net: MorphoNet, set: ScoringSet, options: ScoreOptions = {}): Promise<Scores> {
  const classes = net.arch.numClasses
  const chunk = Math.max(1, Math.min(CHUNK, options.chunk ?? CHUNK))
  const forward = options.forward ?? ((x: Tensor2D) => net.forward(x))
  let nll = 0
  let correct = 0
  const bins = Array.from({length: ECE_BINS}, () => ({rows: 0, hits: 0, confidence: 0}))
  for (let start = 0; start < set.n; start += chunk) {
    if (await options.between?.()) return {loss: Number.NaN, acc: Number.NaN, ece: Number.NaN}
    const rows = Math.min(chunk, set.n - start)
    const logp = tf.tidy(() => tf.logSoftmax(forward(tf.slice(set.x, [start, 0], [rows, set.features]))))
    const values = logp.dataSync() as Float32Array
    logp.dispose()
    for (let r = 0; r < rows; r++) {
      const row = values.subarray(r * classes, (r + 1) * classes)
      let top = 0
      for (let c = 1; c < classes; c++) if (row[c]! > row[top]!) top = c
      const truth = set.y[start + r]!
      nll -= row[truth]!
      const hit = top === truth ? 1 : 0
      correct += hit
      const confidence = Math.exp(row[top]!)
      const bin = bins[Math.min(ECE_BINS - 1, Math.floor(confidence * ECE_BINS))]!
      bin.rows++
      bin.hits += hit
      bin.confidence += confidence
    }
  }
  const ece = bins.reduce((sum, b) => sum + (b.rows ? Math.abs(b.hits - b.confidence) : 0), 0) / set.n
  return {loss: nll / set.n, acc: correct / set.n, ece}
}
