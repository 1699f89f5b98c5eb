import {setFlagsFromString} from 'node:v8'

/**
 * The training step's arithmetic as WebAssembly SIMD functions over a memory: the wasm
 * backend's own, or (for the cpu backend) one the step keeps. A matrix product, a transpose,
 * a column sum, the ReLU gradient mask and Adam's update, and the cpu backend's product and
 * sum. The module is a few kilobytes, assembled here when first used rather than shipped.
 *
 * Each function computes exactly what the backend's kernel for it computes, because it does
 * the same float32 operations in the same order:
 * - gemm: XNNPACK's matrix product (what the backend's _FusedMatMul and BatchMatMul run)
 *   accumulates every output as bias (or 0) + a₀b₀ + a₁b₁ + … in k order, one rounding per
 *   multiply and per add, and so does this one, four or eight outputs at a time. What it does
 *   not do is pack the right operand into a new buffer first, which XNNPACK does on every
 *   call whose right operand is new, and in training every one is (the weights change each
 *   step, the gradients are new). That packing was as long as the product itself.
 * - colsum: the backend's Sum over the rows, each column added up from 0 in row order.
 * - mask: the ReLU's gradient, dy · step(x), as the tape computes it (dy where x > 0, else dy·0).
 * - gemm64, colsum64: the cpu backend's BatchMatMul and Sum, which are JavaScript: a product
 *   adds each output's products in a double over blocks of 48 values of k, and adds each
 *   block's sum into the float32 output; a sum adds a column in a double. These do the same
 *   additions in the same order, two doubles to a vector (about 6× the JavaScript's speed).
 * - adam: tf.train.adam's update, element by element (on cpu too: each float32 operation
 *   rounds as JavaScript's double operation rounded to float32 does),
 *     m ← m·β1 + g·(1−β1)            v ← v·β2 + (g·g)·(1−β2)
 *     w ← ((m / (1−β1ᵗ)) / (√(v / (1−β2ᵗ)) + ε))·(−lr) + w
 *   one pass instead of fifteen kernel calls per variable.
 * test/training/step.test.ts holds the gradients and weights of a whole step to the reference.
 */

export interface AdamConstants {
  beta1: number
  oneMinusBeta1: number
  beta2: number
  oneMinusBeta2: number
  /** 1 − β1ᵗ and 1 − β2ᵗ, as TF.js keeps them: float32 products updated every step. */
  correction1: number
  correction2: number
  epsilon: number
  negLr: number
}

/** Every pointer is a byte offset in the memory the kernels were made for. */
export interface SimdKernels {
  /** gemm64 adds with a fused multiply-add (relaxed SIMD), same results, fewer instructions. */
  fused: boolean
  /** The compiled module these are instances of (another thread can instantiate it on a shared memory). */
  module: WebAssembly.Module
  /**
   * out (m×n, row-major) = A·B (+ bias), then relu 1: max(x, 0) as the backend's Relu kernel
   * (NaN stays NaN), or 2: as XNNPACK's fused clamp (NaN becomes 0). Element (i, k) of A is at
   * a + i·aRow + k·aCol bytes, so a transposed A is just other strides; B is k×n row-major.
   */
  gemm(
    a: number,
    aRow: number,
    aCol: number,
    b: number,
    bias: number | undefined,
    out: number,
    m: number,
    k: number,
    n: number,
    relu: 0 | 1 | 2,
  ): void
  /** dst (cols×rows) = srcᵀ, bits copied. */
  transpose(src: number, dst: number, rows: number, cols: number): void
  /** dst[j] = Σ_r src[r][j], from 0 in row order. */
  colsum(src: number, dst: number, rows: number, cols: number): void
  /** g[i] = a[i] > 0 ? g[i] : g[i]·0. */
  mask(g: number, a: number, n: number): void
  adam(w: number, m: number, v: number, g: number, n: number, c: AdamConstants): void
  /**
   * The cpu backend's product, out (m×n) = A·B with A and B at strides as gemm's A (so either
   * can be a transposed matrix): each output's products added in a double over `block` values
   * of k at a time, each block's sum added into the float32 output, whose rows are `outRow`
   * bytes apart (n·4 for a whole matrix, more for a band of its columns). `scratch` holds
   * (m·k + k·n)·8 bytes.
   */
  gemm64(
    a: number,
    aRow: number,
    aCol: number,
    b: number,
    bRow: number,
    bCol: number,
    out: number,
    outRow: number,
    m: number,
    k: number,
    n: number,
    block: number,
    scratch: number,
  ): void
  /** The cpu backend's Sum over the rows: dst[j] = f32(Σ_r src[r][j] in a double). */
  colsum64(src: number, dst: number, rows: number, cols: number): void
  /** out[r][j] ← out[r][j] + bias[j], then max(x, 0) if relu. */
  biasAct(out: number, bias: number, rows: number, n: number, relu: boolean): void
}

const I32 = 0x7f
const F32 = 0x7d
const F64 = 0x7c
const V128 = 0x7b

// Opcodes (core and fixed-width SIMD as standardised).
const op = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  br: 0x0c,
  brIf: 0x0d,
  end: 0x0b,
  get: 0x20,
  set: 0x21,
  i32load: 0x28,
  f32load: 0x2a,
  i32store: 0x36,
  f32store: 0x38,
  i32const: 0x41,
  f32const: 0x43,
  i32eqz: 0x45,
  i32eq: 0x46,
  i32ne: 0x47,
  i32ltu: 0x49,
  i32gtu: 0x4b,
  i32leu: 0x4d,
  i32geu: 0x4f,
  f32lt: 0x5d,
  f32gt: 0x5e,
  select: 0x1b,
  i32add: 0x6a,
  i32sub: 0x6b,
  i32mul: 0x6c,
  i32and: 0x71,
  i32shl: 0x74,
  f32sqrt: 0x91,
  f32add: 0x92,
  f32mul: 0x94,
  f32div: 0x95,
  f32max: 0x97,
  f64add: 0xa0,
  f64mul: 0xa2,
  f32demote: 0xb6,
  f64promote: 0xbb,
} as const
const simd = {
  load: 0x00,
  shuffle: 0x0d,
  loadSplat: 0x09,
  store: 0x0b,
  splat: 0x13,
  gt: 0x44,
  bitselect: 0x52,
  sqrt: 0xe3,
  add: 0xe4,
  mul: 0xe6,
  div: 0xe7,
  max: 0xe9,
  pmax: 0xeb,
  load64Zero: 0x5d,
  load64Splat: 0x0a,
  store64Lane: 0x5b,
  f64Splat: 0x14,
  f64Add: 0xf0,
  f64Mul: 0xf2,
  /** Relaxed SIMD: a·b + c, fused or not as the hardware does it. */
  f64Madd: 0x107,
  demote: 0x5e,
  promote: 0x5f,
} as const

function uleb(n: number): number[] {
  const out: number[] = []
  do {
    let byte = n & 0x7f
    n >>>= 7
    if (n !== 0) byte |= 0x80
    out.push(byte)
  } while (n !== 0)
  return out
}

function sleb(n: number): number[] {
  const out: number[] = []
  for (;;) {
    const byte = n & 0x7f
    n >>= 7
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte)
      return out
    }
    out.push(byte | 0x80)
  }
}

const name = (s: string) => [...uleb(s.length), ...Buffer.from(s, 'utf8')]
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()]
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body]

/** One function being written: its parameters, the locals it asks for, and its code. */
class Fn {
  readonly params: number[]
  private readonly locals: number[] = []
  readonly code: number[] = []

  constructor(params: number[]) {
    this.params = params
  }

  local(type: number): number {
    this.locals.push(type)
    return this.params.length + this.locals.length - 1
  }

  e(...bytes: number[]): this {
    this.code.push(...bytes)
    return this
  }

  get(i: number) {
    return this.e(op.get, ...uleb(i))
  }

  set(i: number) {
    return this.e(op.set, ...uleb(i))
  }

  tee(i: number) {
    return this.e(0x22, ...uleb(i))
  }

  i32(n: number) {
    return this.e(op.i32const, ...sleb(n))
  }

  v(o: number, ...imm: number[]) {
    return this.e(0xfd, ...uleb(o), ...imm)
  }

  /** local += n (an i32 local, n a local or a constant). */
  bump(local: number, by: {local: number} | number) {
    this.get(local)
    if (typeof by === 'number') this.i32(by)
    else this.get(by.local)
    return this.e(op.i32add).set(local)
  }

  /** while (cond) body: cond pushes an i32, tested before every pass. */
  while(cond: () => void, body: () => void) {
    this.e(op.block, 0x40, op.loop, 0x40)
    cond()
    this.e(op.i32eqz, op.brIf, 1)
    body()
    return this.e(op.br, 0, op.end, op.end)
  }

  when(cond: () => void, then: () => void) {
    cond()
    this.e(op.if, 0x40)
    then()
    return this.e(op.end)
  }

  body(): number[] {
    const groups: number[][] = []
    for (const t of this.locals) {
      const last = groups.at(-1)
      if (last && last[1] === t) last[0]!++
      else groups.push([1, t])
    }
    return [...vec(groups), ...this.code, op.end]
  }
}

/**
 * gemm(a, aRow, aCol, b, bias, hasBias, out, m, k, n, relu): tiles of 4 rows × 8, 4 or 1
 * columns, then the rows left over one at a time. Accumulators stay in locals over all of k.
 */
function gemmFn(): Fn {
  const P = [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32]
  const f = new Fn(P)
  const [A, AROW, ACOL, B, BIAS, HAS_BIAS, OUT, M, K, N, RELU] = P.map((_, i) => i)
  const i0 = f.local(I32)
  const j0 = f.local(I32)
  const kk = f.local(I32)
  const pb = f.local(I32)
  const ldb = f.local(I32) // bytes per row of B and of out
  const pa = [f.local(I32), f.local(I32), f.local(I32), f.local(I32)]
  const accV = Array.from({length: 8}, () => f.local(V128))
  const bV = [f.local(V128), f.local(V128)]
  const aV = f.local(V128)
  const zeroV = f.local(V128)
  const accS = Array.from({length: 4}, () => f.local(F32))
  const bS = f.local(F32)
  const aS = f.local(F32)

  f.get(N).i32(2).e(op.i32shl).set(ldb)
  f.v(0x0c, ...new Array(16).fill(0)).set(zeroV) // v128.const 0

  /** One tile at rows i0.., columns j0..: `rows` of 1 or 4; `lanes` 8, 4 (vectors) or 1 (scalar). */
  const tile = (rows: number, lanes: number) => {
    const nv = lanes === 8 ? 2 : 1
    const scalar = lanes === 1
    const acc = (r: number, q: number) => (scalar ? accS[r]! : accV[r * nv + q]!)
    // Accumulators start from the bias (or zero).
    for (let q = 0; q < nv; q++) {
      f.get(HAS_BIAS).e(op.if, scalar ? F32 : V128)
      f.get(BIAS).get(j0).i32(2).e(op.i32shl, op.i32add)
      if (scalar) f.e(op.f32load, 2, 0)
      else f.v(simd.load, 0, ...uleb(16 * q))
      f.e(op.else)
      if (scalar) f.e(op.f32const, 0, 0, 0, 0)
      else f.get(zeroV)
      f.e(op.end)
      for (let r = 0; r < rows; r++) {
        if (r === rows - 1) f.set(acc(r, q))
        else f.tee(acc(r, q))
      }
    }
    // Row pointers into A, and the column pointer into B.
    for (let r = 0; r < rows; r++) {
      f.get(A).get(i0).i32(r).e(op.i32add).get(AROW).e(op.i32mul, op.i32add).set(pa[r]!)
    }
    f.get(B).get(j0).i32(2).e(op.i32shl, op.i32add).set(pb)
    f.get(K).set(kk)
    f.while(
      () => f.get(kk),
      () => {
        for (let q = 0; q < nv; q++) {
          f.get(pb)
          if (scalar) f.e(op.f32load, 2, 0).set(bS)
          else f.v(simd.load, 0, ...uleb(16 * q)).set(bV[q]!)
        }
        for (let r = 0; r < rows; r++) {
          f.get(pa[r]!)
          if (scalar) f.e(op.f32load, 2, 0).set(aS)
          else f.v(simd.loadSplat, 2, 0).set(aV)
          for (let q = 0; q < nv; q++) {
            f.get(acc(r, q))
            if (scalar) f.get(aS).get(bS).e(op.f32mul, op.f32add)
            else f.get(aV).get(bV[q]!).v(simd.mul).v(simd.add)
            f.set(acc(r, q))
          }
          f.bump(pa[r]!, {local: ACOL})
        }
        f.bump(pb, {local: ldb})
        f.get(kk).i32(1).e(op.i32sub).set(kk)
      },
    )
    // ReLU 1: max(x, 0), NaN kept; 2: pmax(0, x) = 0 < x ? x : 0, NaN to 0 (XNNPACK's clamp).
    for (const [mode, ops] of [
      [1, scalar ? [op.f32max] : [0xfd, ...uleb(simd.max)]],
      [2, scalar ? [] : [0xfd, ...uleb(simd.pmax)]],
    ] as const) {
      f.when(
        () => f.get(RELU).i32(mode).e(op.i32eq),
        () => {
          for (let r = 0; r < rows; r++) {
            for (let q = 0; q < nv; q++) {
              if (mode === 2 && scalar) {
                // select(x, 0, 0 < x)
                f.get(acc(r, q))
                  .e(op.f32const, 0, 0, 0, 0)
                  .e(op.f32const, 0, 0, 0, 0)
                  .get(acc(r, q))
                  .e(op.f32lt, op.select)
              } else if (mode === 2) {
                f.get(zeroV)
                  .get(acc(r, q))
                  .e(...ops)
              } else {
                f.get(acc(r, q))
                if (scalar) f.e(op.f32const, 0, 0, 0, 0)
                else f.get(zeroV)
                f.e(...ops)
              }
              f.set(acc(r, q))
            }
          }
        },
      )
    }
    for (let r = 0; r < rows; r++) {
      for (let q = 0; q < nv; q++) {
        // out + (i0 + r)·ldb + j0·4 + 16q
        f.get(OUT).get(i0).i32(r).e(op.i32add).get(ldb).e(op.i32mul, op.i32add)
        f.get(j0).i32(2).e(op.i32shl, op.i32add)
        f.get(acc(r, q))
        if (scalar) f.e(op.f32store, 2, 0)
        else f.v(simd.store, 0, ...uleb(16 * q))
      }
    }
  }

  // Down the bands of B: in a training step, where the weights and activations of every layer
  // pass through the cache in turn, a 64×128×128 product took 85 µs across and 56 µs down.
  tiles(f, {i0, j0, M, N}, [8, 4, 1], tile, 'down')
  return f
}

/**
 * A product's tiles, in one of two orders. Across (the default): rows four at a time, then one
 * at a time; along each, columns in the widest tile while it fits, then each narrower one (the
 * last, one column, as often as needed). Down: the same bands
 * of columns, each taken down all of A's rows, which keeps the band of B (k rows of a few
 * columns) in the first-level cache for all of A instead of reading all of B again for every
 * row of tiles. Which is faster depends on how A is laid out; the results are the same.
 */
function tiles(
  f: Fn,
  at: {i0: number; j0: number; M: number; N: number},
  widths: [number, number, 1],
  tile: (rows: number, lanes: number) => void,
  order: 'across' | 'down',
): void {
  const {i0, j0, M, N} = at
  const fits = (width: number) => () => f.get(j0).i32(width).e(op.i32add).get(N).e(op.i32leu)
  const rows = (each: (rows: number) => void) => {
    f.i32(0).set(i0)
    f.while(
      () => f.get(i0).i32(4).e(op.i32add).get(M).e(op.i32leu),
      () => {
        each(4)
        f.bump(i0, 4)
      },
    )
    f.while(
      () => f.get(i0).get(M).e(op.i32ltu),
      () => {
        each(1)
        f.bump(i0, 1)
      },
    )
  }
  const columns = (each: (lanes: number) => void) => {
    f.i32(0).set(j0)
    const band = (lanes: number) => () => {
      each(lanes)
      f.bump(j0, lanes)
    }
    f.while(fits(widths[0]), band(widths[0]))
    f.when(fits(widths[1]), band(widths[1]))
    f.while(fits(1), band(1))
  }
  if (order === 'down') columns((lanes) => rows((r) => tile(r, lanes)))
  else rows((r) => columns((lanes) => tile(r, lanes)))
}

/** i8x16.shuffle's 16 byte lanes for four float32 lanes of (a, b): 0-3 from a, 4-7 from b. */
const lanes32 = (...picks: number[]) => picks.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3])

/**
 * transpose(src, dst, rows, cols): dst (cols×rows) = srcᵀ, bits copied. Blocks of 4×4 go
 * through vectors (four rows loaded, shuffled into four columns); the rows and columns left
 * over one value at a time.
 */
function transposeFn(): Fn {
  const f = new Fn([I32, I32, I32, I32])
  const [SRC, DST, ROWS, COLS] = [0, 1, 2, 3]
  const r = f.local(I32)
  const c = f.local(I32)
  const ps = f.local(I32)
  const pd = f.local(I32)
  const rowBytes = f.local(I32) // a row of dst
  const colBytes = f.local(I32) // a row of src
  const rows4 = f.local(I32)
  const cols4 = f.local(I32)
  const a = [f.local(V128), f.local(V128), f.local(V128), f.local(V128)]
  const t = [f.local(V128), f.local(V128), f.local(V128), f.local(V128)]
  f.get(ROWS).i32(2).e(op.i32shl).set(rowBytes)
  f.get(COLS).i32(2).e(op.i32shl).set(colBytes)
  f.get(ROWS).i32(-4).e(op.i32and).set(rows4)
  f.get(COLS).i32(-4).e(op.i32and).set(cols4)
  const shuffle = (x: number, y: number, picks: number[], into: number) =>
    f
      .get(x)
      .get(y)
      .v(simd.shuffle, ...lanes32(...picks))
      .set(into)
  f.i32(0).set(r)
  f.while(
    () => f.get(r).get(rows4).e(op.i32ltu),
    () => {
      f.i32(0).set(c)
      f.while(
        () => f.get(c).get(cols4).e(op.i32ltu),
        () => {
          // src[r..r+3][c..c+3] → dst[c..c+3][r..r+3]
          f.get(SRC).get(r).get(colBytes).e(op.i32mul, op.i32add).get(c).i32(2).e(op.i32shl, op.i32add).set(ps)
          for (let i = 0; i < 4; i++) f.get(ps).v(simd.load, 2, 0).set(a[i]!).bump(ps, {local: colBytes})
          shuffle(a[0]!, a[1]!, [0, 4, 1, 5], t[0]!)
          shuffle(a[0]!, a[1]!, [2, 6, 3, 7], t[1]!)
          shuffle(a[2]!, a[3]!, [0, 4, 1, 5], t[2]!)
          shuffle(a[2]!, a[3]!, [2, 6, 3, 7], t[3]!)
          f.get(DST).get(c).get(rowBytes).e(op.i32mul, op.i32add).get(r).i32(2).e(op.i32shl, op.i32add).set(pd)
          for (const [x, y, picks] of [
            [t[0]!, t[2]!, [0, 1, 4, 5]],
            [t[0]!, t[2]!, [2, 3, 6, 7]],
            [t[1]!, t[3]!, [0, 1, 4, 5]],
            [t[1]!, t[3]!, [2, 3, 6, 7]],
          ] as const) {
            f.get(pd)
              .get(x)
              .get(y)
              .v(simd.shuffle, ...lanes32(...picks))
              .v(simd.store, 2, 0)
            f.bump(pd, {local: rowBytes})
          }
          f.bump(c, 4)
        },
      )
      f.bump(r, 4)
    },
  )
  /** One value at a time over rows [r0, rows) × columns [c0, cols), c0 and r0 locals. */
  const rest = (rowFrom: number, colFrom: number | undefined, rowsTo: number) => {
    f.get(rowFrom).set(r)
    f.while(
      () => f.get(r).get(rowsTo).e(op.i32ltu),
      () => {
        if (colFrom === undefined) f.i32(0).set(c)
        else f.get(colFrom).set(c)
        f.get(SRC).get(r).get(colBytes).e(op.i32mul, op.i32add).get(c).i32(2).e(op.i32shl, op.i32add).set(ps)
        f.get(DST).get(c).get(rowBytes).e(op.i32mul, op.i32add).get(r).i32(2).e(op.i32shl, op.i32add).set(pd)
        f.while(
          () => f.get(c).get(COLS).e(op.i32ltu),
          () => {
            f.get(pd).get(ps).e(op.i32load, 2, 0, op.i32store, 2, 0)
            f.bump(ps, 4).bump(pd, {local: rowBytes}).bump(c, 1)
          },
        )
        f.bump(r, 1)
      },
    )
  }
  // The columns after the blocks, in the block rows; then every column of the rows after them.
  const zero = f.local(I32)
  f.i32(0).set(zero)
  rest(zero, cols4, rows4)
  rest(rows4, undefined, ROWS)
  return f
}

/**
 * colsum(src, dst, rows, cols): each column added up from 0 in row order, in float32 (four
 * columns to a vector); with `double`, in a double rounded once at the end (two to a vector),
 * as the cpu backend's Sum does.
 */
function colsumFn(double = false): Fn {
  const f = new Fn([I32, I32, I32, I32])
  const [SRC, DST, ROWS, COLS] = [0, 1, 2, 3]
  const j = f.local(I32)
  const r = f.local(I32)
  const p = f.local(I32)
  const rowBytes = f.local(I32)
  const accV = f.local(V128)
  const accS = f.local(double ? F64 : F32)
  const wide = double ? 2 : 4
  f.get(COLS).i32(2).e(op.i32shl).set(rowBytes)
  f.i32(0).set(j)
  const column = (lanes: number) => {
    f.get(SRC).get(j).i32(2).e(op.i32shl, op.i32add).set(p)
    if (lanes > 1) f.v(0x0c, ...new Array(16).fill(0)).set(accV)
    else if (double) f.e(0x44, 0, 0, 0, 0, 0, 0, 0, 0).set(accS)
    else f.e(op.f32const, 0, 0, 0, 0).set(accS)
    f.i32(0).set(r)
    f.while(
      () => f.get(r).get(ROWS).e(op.i32ltu),
      () => {
        if (lanes > 1 && double) f.get(accV).get(p).v(simd.load64Zero, 0, 0).v(simd.promote).v(simd.f64Add).set(accV)
        else if (lanes > 1) f.get(accV).get(p).v(simd.load, 0, 0).v(simd.add).set(accV)
        else if (double) f.get(accS).get(p).e(op.f32load, 2, 0, op.f64promote, op.f64add).set(accS)
        else f.get(accS).get(p).e(op.f32load, 2, 0, op.f32add).set(accS)
        f.bump(p, {local: rowBytes}).bump(r, 1)
      },
    )
    f.get(DST).get(j).i32(2).e(op.i32shl, op.i32add)
    if (lanes > 1 && double) f.get(accV).v(simd.demote).v(simd.store64Lane, 0, 0, 0)
    else if (lanes > 1) f.get(accV).v(simd.store, 0, 0)
    else if (double) f.get(accS).e(op.f32demote, op.f32store, 2, 0)
    else f.get(accS).e(op.f32store, 2, 0)
    f.bump(j, lanes)
  }
  f.while(
    () => f.get(j).i32(wide).e(op.i32add).get(COLS).e(op.i32leu),
    () => column(wide),
  )
  f.while(
    () => f.get(j).get(COLS).e(op.i32ltu),
    () => column(1),
  )
  return f
}

function maskFn(): Fn {
  const f = new Fn([I32, I32, I32])
  const [G, A, N] = [0, 1, 2]
  const i = f.local(I32)
  const end = f.local(I32)
  const g = f.local(V128)
  const zero = f.local(V128)
  f.v(0x0c, ...new Array(16).fill(0)).set(zero)
  f.get(N).i32(2).e(op.i32shl).set(end)
  f.i32(0).set(i)
  f.while(
    () => f.get(i).i32(16).e(op.i32add).get(end).e(op.i32leu),
    () => {
      f.get(G).get(i).e(op.i32add)
      f.get(G).get(i).e(op.i32add).v(simd.load, 0, 0).set(g)
      // bitselect(g, g·0, a > 0)
      f.get(g).get(g).get(zero).v(simd.mul)
      f.get(A).get(i).e(op.i32add).v(simd.load, 0, 0).get(zero).v(simd.gt)
      f.v(simd.bitselect).v(simd.store, 0, 0)
      f.bump(i, 16)
    },
  )
  f.while(
    () => f.get(i).get(end).e(op.i32ltu),
    () => {
      f.when(
        () => f.get(A).get(i).e(op.i32add, op.f32load, 2, 0, op.f32const, 0, 0, 0, 0, op.f32gt, op.i32eqz),
        () => {
          f.get(G).get(i).e(op.i32add)
          f.get(G).get(i).e(op.i32add, op.f32load, 2, 0, op.f32const, 0, 0, 0, 0, op.f32mul, op.f32store, 2, 0)
        },
      )
      f.bump(i, 4)
    },
  )
  return f
}

function adamFn(): Fn {
  const P = [I32, I32, I32, I32, I32, F32, F32, F32, F32, F32, F32, F32, F32]
  const f = new Fn(P)
  const [W, M, V, G, N] = [0, 1, 2, 3, 4]
  const C = 5 // beta1, 1−beta1, beta2, 1−beta2, corr1, corr2, eps, −lr
  const i = f.local(I32)
  const end = f.local(I32)
  const splat = Array.from({length: 8}, () => f.local(V128))
  const tv = [f.local(V128), f.local(V128), f.local(V128)]
  const ts = [f.local(F32), f.local(F32), f.local(F32)]
  for (let k = 0; k < 8; k++)
    f.get(C + k)
      .v(simd.splat)
      .set(splat[k]!)
  f.get(N).i32(-4).e(op.i32and).i32(2).e(op.i32shl).set(end)
  f.i32(0).set(i)
  const addr = (base: number) => f.get(base).get(i).e(op.i32add)
  const pass = (vector: boolean) => {
    const load = () => (vector ? f.v(simd.load, 0, 0) : f.e(op.f32load, 2, 0))
    const store = () => (vector ? f.v(simd.store, 0, 0) : f.e(op.f32store, 2, 0))
    const k = (n: number) => f.get(vector ? splat[n]! : C + n)
    const mul = () => (vector ? f.v(simd.mul) : f.e(op.f32mul))
    const add = () => (vector ? f.v(simd.add) : f.e(op.f32add))
    const div = () => (vector ? f.v(simd.div) : f.e(op.f32div))
    const sqrt = () => (vector ? f.v(simd.sqrt) : f.e(op.f32sqrt))
    const [g, m, v] = (vector ? tv : ts) as [number, number, number]
    addr(G)
    load()
    f.set(g)
    // m' = m·β1 + g·(1−β1)
    addr(M)
    load()
    k(0)
    mul()
    f.get(g)
    k(1)
    mul()
    add()
    f.set(m)
    addr(M).get(m)
    store()
    // v' = v·β2 + (g·g)·(1−β2)
    addr(V)
    load()
    k(2)
    mul()
    f.get(g).get(g)
    mul()
    k(3)
    mul()
    add()
    f.set(v)
    addr(V).get(v)
    store()
    // w' = ((m'/c1) / (√(v'/c2) + ε))·(−lr) + w, the address of w first for the store
    addr(W).get(m)
    k(4)
    div()
    f.get(v)
    k(5)
    div()
    sqrt()
    k(6)
    add()
    div()
    k(7)
    mul()
    addr(W)
    load()
    add()
    store()
  }
  f.while(
    () => f.get(i).get(end).e(op.i32ltu),
    () => {
      pass(true)
      f.bump(i, 16)
    },
  )
  f.get(N).i32(2).e(op.i32shl).set(end)
  f.while(
    () => f.get(i).get(end).e(op.i32ltu),
    () => {
      pass(false)
      f.bump(i, 4)
    },
  )
  return f
}

/**
 * gemm64(a, aRow, aCol, b, bRow, bCol, out, outRow, m, k, n, block, scratch): the cpu
 * backend's product. Each output adds its products up in a double (a float32 times a float32 is exact
 * in a double) over `block` values of k at a time, and adds each block's sum into the float32
 * output: out = f32(out + sum), from 0. A and B are first widened to doubles in `scratch`
 * ((m·k + k·n) · 8 bytes, whatever their strides: a transposed operand costs no extra pass;
 * four floats at a time where a stride is one float), so the loop only loads, multiplies and adds: tiles of 4 rows × 4, 2 or 1 columns (two doubles
 * to a vector), then the rows left over. With `fma`, each multiply and add is one fused
 * multiply-add (relaxed SIMD), which gives the same sums: the product it would round is exact.
 * test/training/simd.test.ts holds both to tf.matMul on cpu, bit for bit.
 */
function gemm64Fn(fma: boolean): Fn {
  const P = [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32]
  const f = new Fn(P)
  const [A, AROW, ACOL, B, BROW, BCOL, OUT, OUTROW, M, K, N, BLOCK, SCRATCH] = P.map((_, i) => i)
  const i0 = f.local(I32)
  const j0 = f.local(I32)
  const k0 = f.local(I32)
  const kk = f.local(I32)
  const pb = f.local(I32)
  const po = f.local(I32)
  const ldb = f.local(I32) // bytes per row of the widened B
  const ldo = f.local(I32) // bytes per row of out
  const lda = f.local(I32) // bytes per row of the widened A
  const b64 = f.local(I32)
  const pa = f.local(I32)
  const accV = Array.from({length: 8}, () => f.local(V128))
  const bV = [f.local(V128), f.local(V128)]
  const aV = f.local(V128)
  const zeroV = f.local(V128)
  const accS = Array.from({length: 4}, () => f.local(F64))
  const bS = f.local(F64)
  const aS = f.local(F64)
  const f64zero = [0x44, 0, 0, 0, 0, 0, 0, 0, 0]

  f.get(N).i32(3).e(op.i32shl).set(ldb)
  f.get(OUTROW).set(ldo)
  f.get(K).i32(3).e(op.i32shl).set(lda)
  f.v(0x0c, ...new Array(16).fill(0)).set(zeroV)

  // Widen A (m×k at its strides) into scratch, then B (k×n) after it. A's rows are in panels
  // of 4, their values interleaved (k0 of rows 0-3, then k1 of rows 0-3, ...) so that a tile
  // reads them from one pointer; the rows after the last panel are row-major. Where a stride
  // is one float, four values at a time go through a vector (load, widen each half, store);
  // other strides, and what is left over, one value at a time.
  const [r, c, ps, pd] = [i0, j0, pb, po]
  const step = kk
  const m4 = k0
  const k4 = f.local(I32)
  const first = f.local(I32) // the first row of A left to the one-at-a-time loop
  const w = [f.local(V128), f.local(V128), f.local(V128), f.local(V128)]
  const t = [f.local(V128), f.local(V128), f.local(V128), f.local(V128)]
  const hi = lanes32(2, 3, 2, 3)
  /** Stores vector v's four floats as doubles at the address `at` pushes + offset: the low two, then the high two. */
  const storeWide = (at: () => void, v: number, offset: number) => {
    at()
    f.get(v)
      .v(simd.promote)
      .v(simd.store, 0, ...uleb(offset))
    at()
    f.get(v)
      .get(v)
      .v(simd.shuffle, ...hi)
      .v(simd.promote)
      .v(simd.store, 0, ...uleb(offset + 16))
  }
  const shuffle = (x: number, y: number, picks: number[], into: number) =>
    f
      .get(x)
      .get(y)
      .v(simd.shuffle, ...lanes32(...picks))
      .set(into)
  /** w[0..3] ← the four vectors at ps, `stride` (a local) apart, as a 4×4 block transposed: value q of each becomes vector q. */
  const loadTransposed = (stride: number) => {
    for (let q = 0; q < 4; q++) f.get(ps).v(simd.load, 0, 0).set(w[q]!).bump(ps, {local: stride})
    shuffle(w[0]!, w[1]!, [0, 4, 1, 5], t[0]!)
    shuffle(w[0]!, w[1]!, [2, 6, 3, 7], t[1]!)
    shuffle(w[2]!, w[3]!, [0, 4, 1, 5], t[2]!)
    shuffle(w[2]!, w[3]!, [2, 6, 3, 7], t[3]!)
    shuffle(t[0]!, t[2]!, [0, 1, 4, 5], w[0]!)
    shuffle(t[0]!, t[2]!, [2, 3, 6, 7], w[1]!)
    shuffle(t[1]!, t[3]!, [0, 1, 4, 5], w[2]!)
    shuffle(t[1]!, t[3]!, [2, 3, 6, 7], w[3]!)
  }
  f.get(M).i32(-4).e(op.i32and).set(m4)
  f.get(K).i32(-4).e(op.i32and).set(k4)
  f.i32(0).set(first)
  // A panel's value k is its four rows' k: with rows one float apart (a transposed A), one load.
  f.when(
    () => f.get(AROW).i32(4).e(op.i32eq),
    () => {
      f.i32(0).set(r)
      f.while(
        () => f.get(r).get(m4).e(op.i32ltu),
        () => {
          f.get(A).get(r).i32(2).e(op.i32shl, op.i32add).set(ps)
          f.get(SCRATCH).get(r).get(lda).e(op.i32mul, op.i32add).set(pd)
          f.i32(0).set(c)
          f.while(
            () => f.get(c).get(K).e(op.i32ltu),
            () => {
              f.get(ps).v(simd.load, 0, 0).set(w[0]!)
              storeWide(() => f.get(pd), w[0]!, 0)
              f.bump(ps, {local: ACOL}).bump(pd, 32).bump(c, 1)
            },
          )
          f.bump(r, 4)
        },
      )
      f.get(m4).set(first)
    },
  )
  // With each row's values one float apart, a panel's 4×4 blocks are transposed through vectors.
  f.when(
    () => f.get(AROW).i32(4).e(op.i32ne).get(ACOL).i32(4).e(op.i32eq).e(op.i32and),
    () => {
      f.i32(0).set(r)
      f.while(
        () => f.get(r).get(m4).e(op.i32ltu),
        () => {
          f.get(SCRATCH).get(r).get(lda).e(op.i32mul, op.i32add).set(pd)
          f.i32(0).set(c)
          f.while(
            () => f.get(c).get(k4).e(op.i32ltu),
            () => {
              f.get(A).get(r).get(AROW).e(op.i32mul, op.i32add).get(c).i32(2).e(op.i32shl, op.i32add).set(ps)
              loadTransposed(AROW)
              // w[q] is now value c + q of the panel's four rows.
              for (let q = 0; q < 4; q++) storeWide(() => f.get(pd), w[q]!, 32 * q)
              f.bump(pd, 128).bump(c, 4)
            },
          )
          // The panel's last k mod 4 values, row by row.
          f.while(
            () => f.get(c).get(K).e(op.i32ltu),
            () => {
              for (let q = 0; q < 4; q++) {
                f.get(pd)
                f.get(A).get(r).i32(q).e(op.i32add).get(AROW).e(op.i32mul, op.i32add)
                f.get(c).i32(2).e(op.i32shl, op.i32add)
                f.e(op.f32load, 2, 0, op.f64promote, 0x39, 3, ...uleb(8 * q)) // f64.store
              }
              f.bump(pd, 32).bump(c, 1)
            },
          )
          f.bump(r, 4)
        },
      )
      f.get(m4).set(first)
    },
  )
  f.get(first).set(r)
  f.while(
    () => f.get(r).get(M).e(op.i32ltu),
    () => {
      f.get(A).get(r).get(AROW).e(op.i32mul, op.i32add).set(ps)
      // In a panel: scratch + (r & ~3)·lda + (r & 3)·8, a step of 32; after: scratch + r·lda, a step of 8.
      f.get(SCRATCH).get(r).i32(-4).e(op.i32and).get(lda).e(op.i32mul, op.i32add)
      f.get(r).i32(3).e(op.i32and).i32(3).e(op.i32shl, op.i32add).set(pd)
      f.i32(8).set(step)
      f.when(
        () => f.get(r).get(m4).e(op.i32ltu),
        () => f.i32(32).set(step),
      )
      f.when(
        () => f.get(r).get(m4).e(op.i32geu),
        () => f.get(SCRATCH).get(r).get(lda).e(op.i32mul, op.i32add).set(pd),
      )
      f.i32(0).set(c)
      f.while(
        () => f.get(c).get(K).e(op.i32ltu),
        () => {
          f.get(pd).get(ps).e(op.f32load, 2, 0, op.f64promote, 0x39, 3, 0) // f64.store
          f.bump(ps, {local: ACOL}).bump(pd, {local: step}).bump(c, 1)
        },
      )
      f.bump(r, 1)
    },
  )
  f.get(SCRATCH).get(M).get(lda).e(op.i32mul, op.i32add).set(b64)
  // B row-major whatever its strides (a transposed B is just other strides). Rows of floats
  // one apart: four values of a row at a time. Columns of floats one apart (a transposed B):
  // its rows four at a time, as 4×4 blocks loaded down four columns and transposed, and the
  // rows after the last block by the loop for rows. m4 is the first row that loop widens.
  const n4 = k4
  f.get(N).i32(-4).e(op.i32and).set(n4)
  f.i32(0).set(m4)
  f.when(
    () => f.get(BCOL).i32(4).e(op.i32ne).get(BROW).i32(4).e(op.i32eq).e(op.i32and),
    () => {
      f.get(K).i32(-4).e(op.i32and).set(m4)
      // Rows of B four at a time (below m4): 4×4 blocks loaded as four columns and transposed
      // into four rows, then the columns after the last block one value at a time.
      f.i32(0).set(r)
      f.while(
        () => f.get(r).get(m4).e(op.i32ltu),
        () => {
          f.get(b64).get(r).get(ldb).e(op.i32mul, op.i32add).set(pd)
          f.i32(0).set(c)
          f.while(
            () => f.get(c).get(n4).e(op.i32ltu),
            () => {
              f.get(B).get(c).get(BCOL).e(op.i32mul, op.i32add).get(r).i32(2).e(op.i32shl, op.i32add).set(ps)
              loadTransposed(BCOL)
              // w[q] is now row r + q, columns c to c + 3.
              for (let q = 0; q < 4; q++) storeWide(() => f.get(pd).get(ldb).i32(q).e(op.i32mul, op.i32add), w[q]!, 0)
              f.bump(pd, 32).bump(c, 4)
            },
          )
          f.while(
            () => f.get(c).get(N).e(op.i32ltu),
            () => {
              for (let q = 0; q < 4; q++) {
                f.get(pd).get(ldb).i32(q).e(op.i32mul, op.i32add)
                f.get(B)
                  .get(c)
                  .get(BCOL)
                  .e(op.i32mul, op.i32add)
                  .get(r)
                  .i32(q)
                  .e(op.i32add)
                  .i32(2)
                  .e(op.i32shl, op.i32add)
                f.e(op.f32load, 2, 0, op.f64promote, 0x39, 3, 0) // f64.store
              }
              f.bump(pd, 8).bump(c, 1)
            },
          )
          f.bump(r, 4)
        },
      )
    },
  )
  // Whole rows, four values at a time where they are one float apart.
  f.get(m4).set(r)
  f.while(
    () => f.get(r).get(K).e(op.i32ltu),
    () => {
      f.get(B).get(r).get(BROW).e(op.i32mul, op.i32add).set(ps)
      f.get(b64).get(r).get(ldb).e(op.i32mul, op.i32add).set(pd)
      f.i32(0).set(c)
      f.when(
        () => f.get(BCOL).i32(4).e(op.i32eq),
        () =>
          f.while(
            () => f.get(c).get(n4).e(op.i32ltu),
            () => {
              f.get(ps).v(simd.load, 0, 0).set(w[0]!)
              storeWide(() => f.get(pd), w[0]!, 0)
              f.bump(ps, 16).bump(pd, 32).bump(c, 4)
            },
          ),
      )
      f.while(
        () => f.get(c).get(N).e(op.i32ltu),
        () => {
          f.get(pd).get(ps).e(op.f32load, 2, 0, op.f64promote, 0x39, 3, 0)
          f.bump(ps, {local: BCOL}).bump(pd, 8).bump(c, 1)
        },
      )
      f.bump(r, 1)
    },
  )

  const tile = (rows: number, lanes: number) => {
    const nv = lanes === 4 ? 2 : 1
    const scalar = lanes === 1
    const acc = (r: number, q: number) => (scalar ? accS[r]! : accV[r * nv + q]!)
    // A panel's row r is at offset r·8 from one pointer (8·rows bytes a value of k); a row after the panels is alone.
    f.get(SCRATCH).get(i0).get(lda).e(op.i32mul, op.i32add).set(pa)
    f.i32(0).set(k0)
    f.while(
      () => f.get(k0).get(K).e(op.i32ltu),
      () => {
        // kk = min(block, k − k0)
        f.get(K).get(k0).e(op.i32sub).set(kk)
        f.when(
          () => f.get(kk).get(BLOCK).e(op.i32gtu),
          () => f.get(BLOCK).set(kk),
        )
        for (let r = 0; r < rows; r++) {
          for (let q = 0; q < nv; q++) {
            if (scalar) f.e(...f64zero)
            else f.get(zeroV)
            f.set(acc(r, q))
          }
        }
        // b64 + k0·ldb + j0·8
        f.get(b64).get(k0).get(ldb).e(op.i32mul, op.i32add).get(j0).i32(3).e(op.i32shl, op.i32add).set(pb)
        f.while(
          () => f.get(kk),
          () => {
            for (let q = 0; q < nv; q++) {
              f.get(pb)
              if (scalar)
                f.e(0x2b, 3, 0).set(bS) // f64.load
              else f.v(simd.load, 0, ...uleb(16 * q)).set(bV[q]!)
            }
            for (let r = 0; r < rows; r++) {
              f.get(pa)
              if (scalar) f.e(0x2b, 3, ...uleb(8 * r)).set(aS)
              else f.v(simd.load64Splat, 3, ...uleb(8 * r)).set(aV)
              for (let q = 0; q < nv; q++) {
                if (scalar) f.get(acc(r, q)).get(aS).get(bS).e(op.f64mul, op.f64add)
                else if (fma) f.get(aV).get(bV[q]!).get(acc(r, q)).v(simd.f64Madd)
                else f.get(acc(r, q)).get(aV).get(bV[q]!).v(simd.f64Mul).v(simd.f64Add)
                f.set(acc(r, q))
              }
            }
            f.bump(pa, 8 * rows)
            f.bump(pb, {local: ldb})
            f.get(kk).i32(1).e(op.i32sub).set(kk)
          },
        )
        // out ← f32(out + sum), out being 0 before the first block.
        for (let r = 0; r < rows; r++) {
          f.get(OUT).get(i0).i32(r).e(op.i32add).get(ldo).e(op.i32mul, op.i32add)
          f.get(j0).i32(2).e(op.i32shl, op.i32add).set(po)
          for (let q = 0; q < nv; q++) {
            f.get(po)
            f.get(k0)
              .e(op.i32eqz)
              .e(op.if, scalar ? F64 : V128)
            if (scalar) f.e(...f64zero)
            else f.get(zeroV)
            f.e(op.else).get(po)
            if (scalar) f.e(op.f32load, 2, 0, op.f64promote)
            else f.v(simd.load64Zero, 0, ...uleb(8 * q)).v(simd.promote)
            f.e(op.end).get(acc(r, q))
            if (scalar) f.e(op.f64add, op.f32demote, op.f32store, 2, 0)
            else
              f.v(simd.f64Add)
                .v(simd.demote)
                .v(simd.store64Lane, 0, ...uleb(8 * q), 0)
          }
        }
        f.bump(k0, {local: BLOCK})
      },
    )
  }

  // Across: down the bands measured no faster here (91 and 93 µs a 64×128×128 product in a step).
  tiles(f, {i0, j0, M, N}, [4, 2, 1], tile, 'across')
  return f
}

/** biasAct(out, bias, rows, n, relu): out ← out + bias per row, each sum rounded, then max(x, 0) if relu. */
function biasActFn(): Fn {
  const f = new Fn([I32, I32, I32, I32, I32])
  const [OUT, BIAS, ROWS, N, RELU] = [0, 1, 2, 3, 4]
  const r = f.local(I32)
  const j = f.local(I32)
  const p = f.local(I32)
  const x = f.local(V128)
  const s = f.local(F32)
  const zero = f.local(V128)
  f.v(0x0c, ...new Array(16).fill(0)).set(zero)
  f.get(OUT).set(p)
  f.i32(0).set(r)
  f.while(
    () => f.get(r).get(ROWS).e(op.i32ltu),
    () => {
      f.i32(0).set(j)
      f.while(
        () => f.get(j).i32(4).e(op.i32add).get(N).e(op.i32leu),
        () => {
          f.get(p).v(simd.load, 0, 0).get(BIAS).get(j).i32(2).e(op.i32shl, op.i32add).v(simd.load, 0, 0)
          f.v(simd.add).set(x)
          f.when(
            () => f.get(RELU),
            () => f.get(x).get(zero).v(simd.max).set(x),
          )
          f.get(p).get(x).v(simd.store, 0, 0)
          f.bump(p, 16).bump(j, 4)
        },
      )
      f.while(
        () => f.get(j).get(N).e(op.i32ltu),
        () => {
          f.get(p).e(op.f32load, 2, 0).get(BIAS).get(j).i32(2).e(op.i32shl, op.i32add).e(op.f32load, 2, 0)
          f.e(op.f32add).set(s)
          f.when(
            () => f.get(RELU),
            () => f.get(s).e(op.f32const, 0, 0, 0, 0, op.f32max).set(s),
          )
          f.get(p).get(s).e(op.f32store, 2, 0)
          f.bump(p, 4).bump(j, 1)
        },
      )
      f.bump(r, 1)
    },
  )
  return f
}

const FUNCTIONS: [string, (fma: boolean) => Fn][] = [
  ['gemm', () => gemmFn()],
  ['transpose', () => transposeFn()],
  ['colsum', () => colsumFn()],
  ['mask', () => maskFn()],
  ['adam', () => adamFn()],
  ['gemm64', (fma) => gemm64Fn(fma)],
  ['colsum64', () => colsumFn(true)],
  ['biasAct', () => biasActFn()],
]

/** A shared memory's largest size, in 64 KiB pages (4 GiB, all a 32-bit memory can address). */
export const SHARED_PAGES = 65536

function moduleBytes(fma: boolean, shared: boolean): Uint8Array<ArrayBuffer> {
  const fns = FUNCTIONS.map(([, make]) => make(fma))
  const types = section(1, vec(fns.map((fn) => [0x60, ...vec(fn.params.map((p) => [p])), 0])))
  // The memory is imported: limits 0 (no maximum) from 0 pages, or 3 (shared) from 0 to SHARED_PAGES.
  const limits = shared ? [0x03, 0x00, ...uleb(SHARED_PAGES)] : [0x00, 0x00]
  const imports = section(2, vec([[...name('env'), ...name('memory'), 0x02, ...limits]]))
  const funcs = section(3, vec(fns.map((_, i) => uleb(i))))
  const exports = section(7, vec(FUNCTIONS.map(([n], i) => [...name(n), 0x00, ...uleb(i)])))
  const code = section(
    10,
    vec(
      fns.map((fn) => {
        const body = fn.body()
        return [...uleb(body.length), ...body]
      }),
    ),
  )
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...types,
    ...imports,
    ...funcs,
    ...exports,
    ...code,
  ])
}

const compiled = new Map<string, WebAssembly.Module | undefined>()

const RELAXED_FLAG = 'experimental-wasm-relaxed-simd'

/** V8 before 11.4 (Node 20 has 11.3) ships relaxed SIMD behind RELAXED_FLAG. */
function relaxedBehindFlag(): boolean {
  const [major = 0, minor = 0] = process.versions.v8.split('.').map(Number)
  return major < 11 || (major === 11 && minor < 4)
}

/**
 * The module, with relaxed SIMD's fused multiply-add in gemm64 if `fma` and this runtime has
 * it. Its results are the same either way: a float32 times a float32 is exact in a double, so
 * fusing the multiply into the add rounds once where the two rounded once. Node 20's V8 has
 * relaxed SIMD complete behind a flag (on by default from V8 11.4): the flag is on for this one
 * compilation and off again after, so no other module sees it.
 */
function compile(fma: boolean, shared: boolean): WebAssembly.Module | undefined {
  const key = `${fma} ${shared}`
  if (compiled.has(key)) return compiled.get(key)
  const bytes = moduleBytes(fma, shared)
  let module: WebAssembly.Module | undefined
  if (WebAssembly.validate(bytes)) module = new WebAssembly.Module(bytes)
  else if (fma && relaxedBehindFlag()) {
    try {
      setFlagsFromString(`--${RELAXED_FLAG}`)
      if (WebAssembly.validate(bytes)) module = new WebAssembly.Module(bytes)
    } finally {
      setFlagsFromString(`--no-${RELAXED_FLAG}`)
    }
  }
  compiled.set(key, module)
  return module
}

/**
 * The kernels over `memory` (gemm64 fused where it can be, unless `fma` is false), or undefined
 * where this runtime has no WebAssembly SIMD. A shared memory gets the module that imports one.
 */
export function simdKernels(memory: WebAssembly.Memory, {fma = true}: {fma?: boolean} = {}): SimdKernels | undefined {
  try {
    const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer
    const fused = fma ? compile(true, shared) : undefined
    const module = fused ?? compile(false, shared)
    if (!module) return undefined
    const x = new WebAssembly.Instance(module, {env: {memory}}).exports as Record<string, (...a: number[]) => void>
    const {gemm, transpose, colsum, mask, adam, gemm64, colsum64, biasAct} = x as Record<
      string,
      (...a: number[]) => void
    >
    return {
      fused: fused !== undefined,
      module,
      gemm: (a, aRow, aCol, b, bias, out, m, k, n, relu) =>
        gemm!(a, aRow, aCol, b, bias ?? 0, bias === undefined ? 0 : 1, out, m, k, n, relu),
      transpose: (src, dst, rows, cols) => transpose!(src, dst, rows, cols),
      colsum: (src, dst, rows, cols) => colsum!(src, dst, rows, cols),
      mask: (g, a, n) => mask!(g, a, n),
      adam: (w, m, v, g, n, c) =>
        adam!(
          w,
          m,
          v,
          g,
          n,
          c.beta1,
          c.oneMinusBeta1,
          c.beta2,
          c.oneMinusBeta2,
          c.correction1,
          c.correction2,
          c.epsilon,
          c.negLr,
        ),
      gemm64: (a, aRow, aCol, b, bRow, bCol, out, outRow, m, k, n, block, scratch) =>
        gemm64!(a, aRow, aCol, b, bRow, bCol, out, outRow, m, k, n, block, scratch),
      colsum64: (src, dst, rows, cols) => colsum64!(src, dst, rows, cols),
      biasAct: (out, bias, rows, n, relu) => biasAct!(out, bias, rows, n, relu ? 1 : 0),
    }
  } catch {
    return undefined
  }
}
