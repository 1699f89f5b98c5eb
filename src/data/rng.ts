import {usageError} from '../errors.js'

/**
 * A small seeded PRNG: sfc32 (Chris Doty-Humphrey's "small fast counting" generator, which
 * passes PractRand) seeded through splitmix32. Integer arithmetic only (Math.imul, >>> 0),
 * so a seed gives the same uint32 stream on every platform; the float helpers add only
 * IEEE-exact operations and V8's own Math.log/cos/sin, which do not depend on the OS.
 *
 * Data generation, the train/val split, weight init and batch shuffling each take their own
 * stream through fork(label), so changing one (say, the batch size) never shifts another.
 */

export type TypedArray =
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array

const TWO_POW_32 = 4294967296

export class Rng {
  /** The 32-bit seed this stream was built from; fork() derives from it, not from the state. */
  readonly seed: number
  private a: number
  private b: number
  private c: number
  private d: number
  private spare: number | undefined

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) {
      throw usageError(`Seed must be an integer, got ${seed}`, {
        hint: 'Use a whole number such as 42.',
        details: {seed},
      })
    }
    // Seeds beyond 32 bits keep their high word instead of silently aliasing a small seed.
    const lo = seed >>> 0
    const hi = Math.floor(seed / TWO_POW_32)
    this.seed = hi === 0 ? lo : (lo ^ fmix32(hi >>> 0)) >>> 0
    let state = this.seed
    const splitmix = (): number => {
      state = (state + 0x9e3779b9) | 0
      return fmix32(state)
    }
    this.a = splitmix()
    this.b = splitmix()
    this.c = splitmix()
    this.d = splitmix()
    // sfc32's author recommends discarding the first outputs so weak seeds are mixed in.
    for (let i = 0; i < 12; i++) this.uint32()
  }

  /** Uniform integer in [0, 2^32). */
  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0
    this.d = (this.d + 1) | 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) | 0
    this.c = (this.c << 21) | (this.c >>> 11)
    this.c = (this.c + t) | 0
    return t >>> 0
  }

  /** Uniform in [0, 1), with 32 bits of resolution. */
  next(): number {
    return this.uint32() / TWO_POW_32
  }

  /** Standard normal by Box–Muller; the second value of each pair is cached for the next call. */
  normal(): number {
    if (this.spare !== undefined) {
      const z = this.spare
      this.spare = undefined
      return z
    }
    // 1 - next() is in (0, 1], so the log is finite.
    const r = Math.sqrt(-2 * Math.log(1 - this.next()))
    const angle = 2 * Math.PI * this.next()
    this.spare = r * Math.sin(angle)
    return r * Math.cos(angle)
  }

  /** Uniform integer in [0, n), without modulo bias (rejection sampling). */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32) {
      throw new RangeError(`Rng.int(n) needs an integer n in [1, 2^32], got ${n}`)
    }
    const limit = TWO_POW_32 - (TWO_POW_32 % n)
    let u = this.uint32()
    while (u >= limit) u = this.uint32()
    return u % n
  }

  /** A uniformly random permutation of 0..n-1 (Fisher–Yates). */
  permutation(n: number): Uint32Array {
    const perm = new Uint32Array(n)
    for (let i = 0; i < n; i++) perm[i] = i
    return this.shuffleInPlace(perm)
  }

  /** Shuffles arr uniformly in place (Fisher–Yates) and returns it. */
  shuffleInPlace<A extends unknown[] | TypedArray>(arr: A): A {
    const items = arr as {[index: number]: unknown; length: number}
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1)
      const tmp = items[i]
      items[i] = items[j]
      items[j] = tmp
    }
    return arr
  }

  /**
   * An independent stream derived from this stream's seed and a label. It does not depend on
   * how many values have been drawn here, and drawing from it does not advance this stream,
   * so fork('split') is the same whatever happened before. fork(1) and fork('1') are the same.
   */
  fork(label: string | number): Rng {
    return new Rng(fmix32(hashString(String(label), this.seed)))
  }
}

/** MurmurHash3's 32-bit finaliser: a bijection that spreads every input bit over the output. */
function fmix32(x: number): number {
  let h = x | 0
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

/** FNV-1a over UTF-16 code units, started from a seed-dependent basis. */
function hashString(text: string, seed: number): number {
  let h = (0x811c9dc5 ^ fmix32((seed + 0x6d2b79f5) | 0)) >>> 0
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}
