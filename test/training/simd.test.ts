import {beforeAll, describe, expect, it} from 'vitest'
import {Rng} from '../../src/data/rng.js'
import type {Tf} from '../../src/tf/backend.js'
import {loadTf} from '../../src/tf/backend.js'
import {simdKernels} from '../../src/training/simd.js'

/**
 * gemm64 is the cpu backend's matrix product: the same float32 results as TF.js's own
 * tf.matMul on that backend, bit for bit, with the fused multiply-add (relaxed SIMD) and
 * without, over shapes that leave rows out of the 4-row panels, cross the 48-value blocks of k
 * and read A or B transposed (the weight gradient's xᵀ·d, the input gradient's d·Wᵀ).
 */

const shapes: [m: number, k: number, n: number, transposeA: boolean, transposeB: boolean][] = [
  [64, 128, 128, false, false],
  [64, 128, 128, true, false],
  [64, 128, 128, false, true],
  [7, 53, 10, false, true],
  [5, 3, 9, true, false],
  [56, 52, 52, true, true],
  [13, 100, 6, false, false],
  [6, 97, 5, true, false],
  [1, 1, 1, false, false],
]

/** How many values of k the cpu backend's product adds in a double before rounding into the output. */
const cpuBlock = () => (tf.backend() as unknown as {blockSize: number}).blockSize

let tf: Tf

describe('gemm64, the cpu backend product', () => {
  beforeAll(async () => {
    tf = (await loadTf('cpu')).tf
    await tf.setBackend('cpu')
  })

  function product(
    fma: boolean,
    a: Float32Array,
    b: Float32Array,
    [m, k, n, transposeA, transposeB]: (typeof shapes)[number],
  ) {
    const memory = new WebAssembly.Memory({initial: 64})
    const kernels = simdKernels(memory, {fma})
    expect(kernels).toBeDefined()
    const heap = new Float32Array(memory.buffer)
    const [pa, pb, pout] = [0, a.length, a.length + b.length].map((floats) => Math.ceil(floats / 4) * 16)
    const scratch = pout + Math.ceil((m * n) / 4) * 16
    expect(cpuBlock()).toBe(48)
    heap.set(a, pa! / 4)
    heap.set(b, pb! / 4)
    // A is stored m×k, or k×m when transposed (element (i, c) at c·m + i); B k×n, or n×k.
    const [aRow, aCol] = transposeA ? [4, m * 4] : [k * 4, 4]
    const [bRow, bCol] = transposeB ? [4, k * 4] : [n * 4, 4]
    kernels!.gemm64(pa!, aRow, aCol, pb!, bRow, bCol, pout!, n * 4, m, k, n, cpuBlock(), scratch)
    return {fused: kernels!.fused, out: Float32Array.from(heap.subarray(pout! / 4, pout! / 4 + m * n))}
  }

  it.each(shapes)('gives tf.matMul on cpu exactly: %i×%i×%i, A transposed %s, B transposed %s', (...shape) => {
    const [m, k, n, transposeA, transposeB] = shape
    const rng = new Rng(m * 1000 + k * 10 + n)
    const a = new Float32Array(m * k).map(() => rng.normal() * 3)
    const b = new Float32Array(k * n).map(() => rng.normal())
    const expected = tf.tidy(() => {
      const ta = transposeA ? tf.tensor2d(a, [k, m]) : tf.tensor2d(a, [m, k])
      const tb = transposeB ? tf.tensor2d(b, [n, k]) : tf.tensor2d(b, [k, n])
      return tf.matMul(ta, tb, transposeA, transposeB).dataSync() as Float32Array
    })
    const plain = product(false, a, b, shape)
    const fused = product(true, a, b, shape)
    expect(plain.fused).toBe(false)
    // Node 20 has relaxed SIMD behind a flag the kernels turn on for their compilation.
    expect(fused.fused).toBe(true)
    expect(Array.from(plain.out)).toEqual(Array.from(expected))
    expect(Array.from(fused.out)).toEqual(Array.from(expected))
  })
})

describe('transpose', () => {
  it.each([
    [128, 128],
    [3, 128],
    [128, 2],
    [6, 9],
    [5, 4],
    [4, 7],
    [1, 1],
  ])('copies the bits of a %i×%i matrix into its transpose', (rows, cols) => {
    const memory = new WebAssembly.Memory({initial: 4})
    const kernels = simdKernels(memory)!
    const heap = new Float32Array(memory.buffer)
    const rng = new Rng(rows * 100 + cols)
    const src = new Float32Array(rows * cols).map(() => rng.normal())
    src[0] = Number.NaN
    heap.set(src, 0)
    const dst = Math.ceil((rows * cols) / 4) * 4
    heap.fill(7, dst, dst + rows * cols + 4)
    kernels.transpose(0, dst * 4, rows, cols)
    const expected: number[] = []
    for (let c = 0; c < cols; c++) for (let r = 0; r < rows; r++) expected.push(src[r * cols + c]!)
    expect(Array.from(heap.subarray(dst, dst + rows * cols))).toEqual(expected)
    // Nothing past the end is written.
    expect(Array.from(heap.subarray(dst + rows * cols, dst + rows * cols + 4))).toEqual([7, 7, 7, 7])
  })
})
