import type {AdamConstants} from './simd.js'

/**
 * The training step's arithmetic for the cpu backend, in JavaScript as that backend's kernels
 * are, computing exactly what they compute:
 * - gemm: the cpu backend's matrix product adds each output's products up in a double, over
 *   blocks of `block` (its blockSize, 48) values of k, and adds each block's sum into the
 *   float32 output. This does the same additions in the same order, but four rows at a time
 *   over whole rows of B (the backend walks B down its columns), about three times faster.
 * - colsum: its Sum over the rows: one double per column, rounded once at the end.
 * - mask: the ReLU's gradient, dy · step(x) (dy where x > 0, else dy·0).
 * - adam: tf.train.adam's update with every operation rounded to float32, as its kernels round.
 */

const f = Math.fround

/**
 * out (m×n) = A·B. Element (i, k) of A is a[i·aRow + k·aCol] (a transposed A is other strides);
 * B is k×n row-major. `acc` is scratch of at least 4n doubles.
 */
export function gemm(
  a: Float32Array,
  aRow: number,
  aCol: number,
  b: Float32Array,
  out: Float32Array,
  m: number,
  k: number,
  n: number,
  block: number,
  acc: Float64Array,
): void {
  out.fill(0, 0, m * n)
  let i = 0
  for (; i + 4 <= m; i += 4) {
    for (let k0 = 0; k0 < k; k0 += block) {
      const kEnd = Math.min(k0 + block, k)
      acc.fill(0, 0, 4 * n)
      for (let kk = k0; kk < kEnd; kk++) {
        const a0 = a[i * aRow + kk * aCol]!
        const a1 = a[(i + 1) * aRow + kk * aCol]!
        const a2 = a[(i + 2) * aRow + kk * aCol]!
        const a3 = a[(i + 3) * aRow + kk * aCol]!
        const row = kk * n
        for (let j = 0; j < n; j++) {
          const bj = b[row + j]!
          acc[j]! += a0 * bj
          acc[n + j]! += a1 * bj
          acc[2 * n + j]! += a2 * bj
          acc[3 * n + j]! += a3 * bj
        }
      }
      for (let r = 0; r < 4; r++) {
        const o = (i + r) * n
        for (let j = 0; j < n; j++) out[o + j]! += acc[r * n + j]!
      }
    }
  }
  for (; i < m; i++) {
    for (let k0 = 0; k0 < k; k0 += block) {
      const kEnd = Math.min(k0 + block, k)
      acc.fill(0, 0, n)
      for (let kk = k0; kk < kEnd; kk++) {
        const ai = a[i * aRow + kk * aCol]!
        const row = kk * n
        for (let j = 0; j < n; j++) acc[j]! += ai * b[row + j]!
      }
      const o = i * n
      for (let j = 0; j < n; j++) out[o + j]! += acc[j]!
    }
  }
}

/** out ← out + bias, each sum rounded (then ReLU, as the backend's: max(0, x)). */
export function biasRelu(out: Float32Array, bias: Float32Array, rows: number, relu: boolean): void {
  const n = bias.length
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < n; j++) {
      const v = f(out[r * n + j]! + bias[j]!)
      out[r * n + j] = relu ? Math.max(0, v) : v
    }
  }
}

export function transpose(src: Float32Array, dst: Float32Array, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) dst[c * rows + r] = src[r * cols + c]!
}

export function colsum(src: Float32Array, dst: Float32Array, rows: number, cols: number): void {
  for (let c = 0; c < cols; c++) {
    let sum = 0
    for (let r = 0; r < rows; r++) sum += src[r * cols + c]!
    dst[c] = sum
  }
}

export function mask(g: Float32Array, a: Float32Array): void {
  for (let i = 0; i < g.length; i++) if (!(a[i]! > 0)) g[i] = g[i]! * 0
}

export function adam(w: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array, c: AdamConstants): void {
  const {beta1, oneMinusBeta1, beta2, oneMinusBeta2, correction1, correction2, epsilon, negLr} = c
  for (let i = 0; i < w.length; i++) {
    const gi = g[i]!
    const mi = f(f(m[i]! * beta1) + f(gi * oneMinusBeta1))
    const vi = f(f(v[i]! * beta2) + f(f(gi * gi) * oneMinusBeta2))
    m[i] = mi
    v[i] = vi
    const denom = f(f(Math.sqrt(f(vi / correction2))) + epsilon)
    w[i] = f(f(f(f(mi / correction1) / denom) * negLr) + w[i]!)
  }
}
