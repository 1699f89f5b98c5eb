import {invalidData} from '../errors.js'

/** Per-feature z-score parameters; plain arrays so they travel in JSON with the model. */
export interface Scaler {
  mean: number[]
  std: number[]
}

/**
 * Per-feature mean and population standard deviation (like scikit-learn's StandardScaler).
 * Fit it on the TRAINING split only: the original fitted it on the whole dataset before the
 * split, which leaks validation statistics into training.
 * A constant column gets std 1 (and its exact value as mean), so it scales to 0, not NaN.
 */
export function fitScaler(x: Float32Array, n: number, features: number): Scaler {
  checkShape(x, n, features)
  if (n < 1) throw invalidData('Cannot fit a scaler on 0 rows', {details: {n, features}})
  const mean: number[] = []
  const std: number[] = []
  for (let j = 0; j < features; j++) {
    let sum = 0
    let min = Number.POSITIVE_INFINITY
    let max = Number.NEGATIVE_INFINITY
    for (let i = 0; i < n; i++) {
      const v = x[i * features + j]!
      sum += v
      if (v < min) min = v
      if (v > max) max = v
    }
    if (min === max) {
      mean.push(min)
      std.push(1)
      continue
    }
    const m = sum / n
    let squares = 0
    for (let i = 0; i < n; i++) {
      const d = x[i * features + j]! - m
      squares += d * d
    }
    const s = Math.sqrt(squares / n)
    mean.push(m)
    std.push(s > 0 ? s : 1)
  }
  return {mean, std}
}

/** (x − mean) / std per feature, into a new array unless `out` is given (which may be x itself). */
export function applyScaler(x: Float32Array, n: number, scaler: Scaler, out?: Float32Array): Float32Array {
  const features = scaler.mean.length
  checkShape(x, n, features)
  const result = out ?? new Float32Array(n * features)
  if (result.length !== n * features) {
    throw invalidData(`Output has ${result.length} values, expected ${n * features} (${n} rows × ${features} features)`)
  }
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < features; j++) {
      const k = i * features + j
      result[k] = (x[k]! - scaler.mean[j]!) / scaler.std[j]!
    }
  }
  return result
}

function checkShape(x: Float32Array, n: number, features: number): void {
  if (!Number.isInteger(n) || n < 0 || x.length !== n * features) {
    throw invalidData(`Data has ${x.length} values, expected ${n} rows × ${features} features`, {
      details: {values: x.length, n, features},
    })
  }
}
