import type {Tensor2D, Variable} from '@tensorflow/tfjs'
import type {Dense, MorphoNet, SeedModule} from '../model/network.js'
import type {Tf} from '../tf/backend.js'
import {ProductThread} from './product-thread.js'
import {type AdamConstants, SHARED_PAGES, type SimdKernels, simdKernels} from './simd.js'
import type {Batch, StepGroup, StepOptimizer, Stepper} from './step.js'

/**
 * The training step without TF.js's engine: the forward pass and its gradient written out for
 * this network, on the backend's own memory. Through the engine a step of the default network
 * was about 500 kernel calls, each recorded on the tape, tracked in a scope and disposed, Adam
 * alone 15 per variable; on wasm each matrix product also packed its right operand into a new
 * buffer first (the weights change every step, the gradients are new), which took as long as
 * the product. Here:
 * - wasm: the products, transposes, sums, ReLU masks and Adam are the SIMD functions of
 *   simd.ts, straight on the wasm heap, with no packing;
 * - cpu: the same SIMD functions on a WebAssembly memory of the step's own, the products and
 *   sums in the variants that add in doubles as that backend's JavaScript kernels do; where
 *   the machine has a second core, the large products' columns split with a second thread
 *   (product-thread.ts), each output still added up by one of them in the same order;
 * - both: the seeds' residual sums in JavaScript, each operation rounded to float32; the loss
 *   and its gradient op for op as tf.losses.softmaxCrossEntropy and its tape compute them.
 * Every value is the reference's, bit for bit (test/training/step.test.ts holds the gradients,
 * the updated weights and TF.js's forward pass on them to it; a whole default run gives the
 * same metrics in every epoch), so a run with the same seed gives the same metrics.
 *
 * The variables are updated in place, so they are TF.js's at every moment: the loop scores,
 * checkpoints and grows seeds through MorphoNet as before.
 */

interface Info {
  dataId: object
  /** Always rank 2 here: rows × columns. */
  shape: number[]
  dtype: 'float32'
}

/** What the step needs of a backend: memory it can write and read, and the step's arithmetic. */
interface Ops {
  write(values: Float32Array | null, shape: number[]): Info
  free(t: Info): void
  /** A live view of a tensor's values; valid until the next allocation. */
  view(t: Info): Float32Array
  /** Rows held by TF.js as this backend's tensor: `owned` if a copy was made (freed with the step's). */
  input(x: Tensor2D): {info: Info; owned: boolean}
  /**
   * x·W + b, then ReLU if asked: rows × out. 'fused' is the ReLU of the backend's fused
   * product (what net.forward uses when scoring), 'relu' its separate ReLU kernel (training):
   * on wasm the two differ for NaN (0 and NaN).
   */
  dense(x: Info, w: Variable, b: Variable, relu: Relu): Info
  /** xᵀ·d: a kernel's gradient. */
  weightGrad(x: Info, d: Info): Info
  /** d·Wᵀ: the gradient of a dense layer's input. */
  inputGrad(d: Info, w: Variable): Info
  /** Σ over rows: a bias's gradient. */
  colsum(d: Info): Info
  /** d ← d·step(a), in place: the ReLU's gradient, from its output (a > 0 exactly where its input was). */
  mask(d: Info, a: Info): void
  /** Adam on one variable, in place. */
  adam(w: Variable, m: Info, v: Info, g: Info, c: AdamConstants): void
  /**
   * One of LOSS_KERNELS: the backend's own kernel called directly or, on cpu, the same
   * JavaScript arithmetic on the step's memory (cpuKernel) once it has shown the same bits.
   */
  kernel(name: string, inputs: Record<string, Info>, attrs?: object): Info
}

interface WasmBackend {
  wasm?: {
    HEAPF32: Float32Array
    asm?: {memory?: unknown}
    tfjs: {disposeData(id: number): void; registerTensor(id: number, size: number, offset: number): void}
  }
  dataIdMap: {get(dataId: object): {id: number; memoryOffset: number}}
  write(values: Float32Array | null, shape: number[], dtype: 'float32'): object
  disposeData(dataId: object, force?: boolean): boolean
  refCount(dataId: object): number
}

interface CpuBackend {
  data: {get(dataId: object): {values: Float32Array}}
  blockSize: number
  write(values: Float32Array, shape: number[], dtype: 'float32'): object
  disposeData(dataId: object, force?: boolean): boolean
  refCount(dataId: object): number
}

type Relu = 'none' | 'relu' | 'fused'

type KernelFunc = (args: {inputs: object; attrs?: object; backend: unknown}) => Info

const f = Math.fround
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1)
const rows2 = (v: Variable): [number, number] => [v.shape[0]!, v.shape[1] ?? 1]

/** The kernels the loss needs: exp and log, whose results only the backend's own give exactly, and sums. */
const LOSS_KERNELS = ['Exp', 'Log', 'Sum']

function opsFor(tf: Tf): Ops | undefined {
  const name = tf.getBackend()
  if (name !== 'wasm' && name !== 'cpu') return undefined
  const kernel = kernelsOf(tf, name, LOSS_KERNELS)
  if (!kernel) return undefined
  return name === 'wasm' ? wasmOps(tf, kernel) : cpuOps(tf, kernel)
}

type Kernel = (name: string, inputs: Record<string, Info>, attrs?: object) => Info

/** The backend's kernels, called as its own kernels call each other: on bare tensor records. */
function kernelsOf(tf: Tf, backend: string, names: string[]): Kernel | undefined {
  const funcs = new Map<string, KernelFunc>()
  for (const name of names) {
    const config = tf.getKernel(name, backend)
    if (!config) return undefined
    funcs.set(name, config.kernelFunc as unknown as KernelFunc)
  }
  const raw = tf.backend()
  return (name, inputs, attrs = {}) => funcs.get(name)!({inputs, attrs, backend: raw})
}

/** A variable's buffer is updated in place only when nothing else shares it. */
function own(tf: Tf, v: Variable, refCount: (id: object) => number): void {
  if (refCount(v.dataId) > 1) {
    // dataSync() on cpu is the backend's own array: copy it.
    const copy = tf.tensor(v.dataSync().slice(), v.shape, 'float32')
    v.assign(copy)
    copy.dispose()
  }
}

/** The wasm backend's memory, with the SIMD kernels of simd.ts. */
function wasmOps(tf: Tf, kernel: Kernel): Ops | undefined {
  const b = tf.backend() as unknown as WasmBackend
  // Where this backend's memory cannot be reached (another build of it), the reference trains.
  const wasm = b.wasm
  const memory = wasm?.asm?.memory
  const k: SimdKernels | undefined = memory instanceof WebAssembly.Memory ? simdKernels(memory) : undefined
  if (!wasm || !k) return undefined
  const at = (t: {dataId: object}) => b.dataIdMap.get(t.dataId).memoryOffset
  const write = (values: Float32Array | null, shape: number[]): Info => ({
    dataId: b.write(values, shape, 'float32'),
    shape,
    dtype: 'float32',
  })
  const free = (t: Info) => void b.disposeData(t.dataId)
  return {
    write,
    free,
    view: (t) => new Float32Array(wasm.HEAPF32.buffer, at(t), size(t.shape)),
    input: (x) => ({info: {dataId: x.dataId, shape: [...x.shape], dtype: 'float32'}, owned: false}),
    dense(x, w, bias, relu) {
      const [rows, inDim] = x.shape as [number, number]
      const out = w.shape[1]!
      const y = write(null, [rows, out])
      k.gemm(
        at(x),
        inDim * 4,
        4,
        at(w),
        at(bias),
        at(y),
        rows,
        inDim,
        out,
        relu === 'none' ? 0 : relu === 'relu' ? 1 : 2,
      )
      return y
    },
    weightGrad(x, d) {
      const [rows, inDim] = x.shape as [number, number]
      const out = d.shape[1]!
      const g = write(null, [inDim, out])
      // xᵀ as A: element (i, r) of xᵀ is x[r][i].
      k.gemm(at(x), 4, inDim * 4, at(d), undefined, at(g), inDim, rows, out, 0)
      return g
    },
    inputGrad(d, w) {
      const [inDim, out] = rows2(w)
      const rows = d.shape[0]!
      const wt = write(null, [out, inDim])
      k.transpose(at(w), at(wt), inDim, out)
      const dx = write(null, [rows, inDim])
      k.gemm(at(d), out * 4, 4, at(wt), undefined, at(dx), rows, out, inDim, 0)
      free(wt)
      return dx
    },
    colsum(d) {
      const [rows, cols] = d.shape as [number, number]
      const s = write(null, [1, cols])
      k.colsum(at(d), at(s), rows, cols)
      return s
    },
    mask: (d, a) => k.mask(at(d), at(a), size(d.shape)),
    kernel,
    adam(w, m, v, g, c) {
      own(tf, w, (id) => b.refCount(id))
      k.adam(at(w), at(m), at(v), at(g), w.size, c)
      // The backend's XNNPACK keeps a matrix product's right operand packed, keyed by the
      // tensor's id: dropping and re-registering the id (same memory) forgets the old copy.
      const {id, memoryOffset} = b.dataIdMap.get(w.dataId)
      wasm.tfjs.disposeData(id)
      wasm.tfjs.registerTensor(id, w.size, memoryOffset)
    },
  }
}

/**
 * WebAssembly memory of the step's own, for a backend whose tensors are JavaScript arrays:
 * blocks of 16-byte multiples, freed blocks kept by size for the next of that size (a step
 * asks for the same sizes every time). Growing the memory leaves offsets valid, not views.
 */
class Heap {
  readonly memory: WebAssembly.Memory
  private top = 0
  private readonly unused = new Map<number, number[]>()

  /** A shared memory (another thread works on it) if `shared` and this runtime can make one. */
  constructor(shared: boolean) {
    let memory: WebAssembly.Memory | undefined
    if (shared) {
      try {
        memory = new WebAssembly.Memory({initial: 16, maximum: SHARED_PAGES, shared: true})
      } catch {}
    }
    this.memory = memory ?? new WebAssembly.Memory({initial: 16})
  }

  alloc(floats: number): number {
    const bytes = blockBytes(floats)
    const reused = this.unused.get(bytes)?.pop()
    if (reused !== undefined) return reused
    const offset = this.top
    this.top += bytes
    const short = this.top - this.memory.buffer.byteLength
    if (short > 0) this.memory.grow(Math.max(Math.ceil(short / 65536), this.memory.buffer.byteLength / 65536))
    return offset
  }

  free(offset: number, floats: number): void {
    const bytes = blockBytes(floats)
    const list = this.unused.get(bytes)
    if (list) list.push(offset)
    else this.unused.set(bytes, [offset])
  }

  f32(offset: number, floats: number): Float32Array {
    return new Float32Array(this.memory.buffer, offset, floats)
  }
}

/** gemm64's arguments but the last (scratch). */
type Gemm64Band = [number, number, number, number, number, number, number, number, number, number, number, number]

/**
 * The smallest product split across two threads, in multiply-adds: twice a 64×64×64 product
 * (the default width's, about 25 µs), whose split lost more to the hand-over than it gained.
 */
const SPLIT_WORK = 2 * 64 * 64 * 64

const blockBytes = (floats: number) => Math.max(16, Math.ceil((floats * 4) / 16) * 16)

/**
 * The cpu backend, with the SIMD kernels of simd.ts on a memory of the step's own: gemm64 and
 * colsum64 add in doubles where that backend's product and sum do, so the numbers are its
 * numbers. Each variable has a copy there, refreshed when the variable's buffer changes
 * (assign gives it a new one; nothing else writes a tensor's values but this step) and
 * written back into the backend's array after every update.
 */
function cpuOps(tf: Tf, kernel: Kernel): Ops | undefined {
  const b = tf.backend() as unknown as CpuBackend
  let thread = ProductThread.get()
  const heap = new Heap(thread !== undefined)
  const k = simdKernels(heap.memory)
  if (!(heap.memory.buffer instanceof SharedArrayBuffer)) thread = undefined
  // The product's block of k values (48 in TF.js 4); a backend without it trains the reference.
  const block = b.blockSize
  if (!k || !Number.isInteger(block) || block < 1) return undefined
  const at = (t: Info) => (t.dataId as {offset: number}).offset
  const write = (values: Float32Array | null, shape: number[]): Info => {
    const n = size(shape)
    const offset = heap.alloc(n)
    if (values) heap.f32(offset, n).set(values.subarray(0, n))
    return {dataId: {offset}, shape, dtype: 'float32'}
  }
  const view = (t: Info) => heap.f32(at(t), size(t.shape))
  /** The backend's kernel on copies of the inputs in its own arrays; the result comes back here. */
  const backendKernel = (name: string, inputs: Record<string, Info>, attrs?: object): Info => {
    const args: Record<string, Info> = {}
    for (const [key, t] of Object.entries(inputs)) {
      args[key] = {dataId: b.write(Float32Array.from(view(t)), t.shape, 'float32'), shape: t.shape, dtype: 'float32'}
    }
    const out = kernel(name, args, attrs)
    const result = write(b.data.get(out.dataId).values, out.shape)
    b.disposeData(out.dataId)
    for (const t of Object.values(args)) b.disposeData(t.dataId)
    return result
  }
  /** Whether cpuKernel gives the backend's own bits (checked once, on PROBE): else the backend computes. */
  const direct = ((): boolean => {
    const probe = write(Float32Array.from(PROBE.flat()), [PROBE.length, 4])
    const made: Info[] = [probe]
    try {
      for (const [name, attrs] of [
        ['Exp', undefined],
        ['Log', undefined],
        ['Sum', {axis: [1], keepDims: false}],
      ] as const) {
        const ours = cpuKernel(name, probe, attrs, write, view)!
        const theirs = backendKernel(name, {x: probe}, attrs)
        made.push(ours, theirs)
        const [a, c] = [view(ours), view(theirs)]
        if (a.length !== c.length || a.some((v, i) => !Object.is(v, c[i]))) return false
      }
      return true
    } finally {
      for (const t of made) heap.free(at(t), size(t.shape))
    }
  })()
  const copies = new Map<Variable, {dataId: object; offset: number}>()
  /** The variable's copy, refreshed from the backend's array if that is a new one. */
  const copy = (v: Variable): number => {
    let c = copies.get(v)
    if (!c) {
      for (const [old, block] of copies) {
        if (old.isDisposed) {
          heap.free(block.offset, old.size)
          copies.delete(old)
        }
      }
      c = {dataId: {}, offset: heap.alloc(v.size)}
      copies.set(v, c)
    }
    if (c.dataId !== v.dataId) {
      heap.f32(c.offset, v.size).set(b.data.get(v.dataId).values)
      c.dataId = v.dataId
    }
    return c.offset
  }
  const scratch = [
    {offset: 0, floats: 0},
    {offset: 0, floats: 0},
  ]
  /** Room for gemm64's doubles, (m·k + k·n)·8 bytes: one for this thread (0), one for the other (1). */
  const room = (which: 0 | 1, m: number, kk: number, n: number) => {
    const floats = 2 * (m * kk + kk * n)
    const s = scratch[which]!
    if (floats > s.floats) {
      if (s.floats > 0) heap.free(s.offset, s.floats)
      scratch[which] = {offset: heap.alloc(floats), floats}
    }
    return scratch[which]!.offset
  }
  /**
   * out (m×n) = A·B by gemm64, A and B at strides. A product of SPLIT_WORK multiply-adds or
   * more is split in two bands of columns when the second thread is there: it does the right
   * band while this one does the left (or this one does both, if it gets there first).
   */
  const product = (
    a: number,
    aRow: number,
    aCol: number,
    bp: number,
    bRow: number,
    bCol: number,
    out: number,
    m: number,
    kk: number,
    n: number,
  ) => {
    const s = room(0, m, kk, n)
    if (thread?.ready && n >= 8 && m * kk * n >= SPLIT_WORK) {
      const left = Math.ceil(n / 8) * 4
      const right = [a, aRow, aCol, bp + left * bCol, bRow, bCol, out + left * 4, n * 4, m, kk, n - left, block]
      const s1 = room(1, m, kk, n - left)
      if (thread.postGemm64(heap.memory, k.module, [...right, s1])) {
        k.gemm64(a, aRow, aCol, bp, bRow, bCol, out, n * 4, m, kk, left, block, s)
        // A band the thread had not begun, or failed at, this thread computes (again).
        if (thread.finish() !== 'done') k.gemm64(...(right as Gemm64Band), s)
        return
      }
    }
    k.gemm64(a, aRow, aCol, bp, bRow, bCol, out, n * 4, m, kk, n, block, s)
  }
  return {
    write,
    free: (t) => heap.free(at(t), size(t.shape)),
    view,
    input: (x) => ({info: write(b.data.get(x.dataId).values, x.shape), owned: true}),
    dense(x, w, bias, relu) {
      const [rows, inDim] = x.shape as [number, number]
      const out = w.shape[1]!
      const y = write(null, [rows, out])
      product(at(x), inDim * 4, 4, copy(w), out * 4, 4, at(y), rows, inDim, out)
      k.biasAct(at(y), copy(bias), rows, out, relu !== 'none')
      return y
    },
    weightGrad(x, d) {
      const [rows, inDim] = x.shape as [number, number]
      const out = d.shape[1]!
      const g = write(null, [inDim, out])
      product(at(x), 4, inDim * 4, at(d), out * 4, 4, at(g), inDim, rows, out)
      return g
    },
    inputGrad(d, w) {
      const [inDim, out] = rows2(w)
      const rows = d.shape[0]!
      const dx = write(null, [rows, inDim])
      // Wᵀ as B: element (c, j) of Wᵀ is W[j][c].
      product(at(d), out * 4, 4, copy(w), 4, out * 4, at(dx), rows, out, inDim)
      return dx
    },
    colsum(d) {
      const [rows, cols] = d.shape as [number, number]
      const s = write(null, [1, cols])
      k.colsum64(at(d), at(s), rows, cols)
      return s
    },
    mask: (d, a) => k.mask(at(d), at(a), size(d.shape)),
    adam(w, m, v, g, c) {
      own(tf, w, (id) => b.refCount(id))
      const offset = copy(w)
      k.adam(offset, at(m), at(v), at(g), w.size, c)
      b.data.get(w.dataId).values.set(heap.f32(offset, w.size))
    },
    kernel: (name, inputs, attrs) =>
      (direct && cpuKernel(name, inputs.x!, attrs, write, view)) || backendKernel(name, inputs, attrs),
  }
}

/**
 * What the loss asks of the cpu backend's Exp, Log and Sum, done on the step's memory: those
 * kernels are JavaScript (Math.exp, Math.log of each value; a sum over the last axis added up
 * in a double), each result written into a float32 array. Called there instead, each needs a
 * copy into the backend's arrays and back, and the kernel's bookkeeping. undefined for any
 * other use (the backend's kernel does it).
 */
function cpuKernel(
  name: string,
  x: Info,
  attrs: object | undefined,
  write: (values: Float32Array | null, shape: number[]) => Info,
  view: (t: Info) => Float32Array,
): Info | undefined {
  const shape = x.shape
  if (name === 'Exp' || name === 'Log') {
    const y = write(null, shape)
    const [xv, yv] = [view(x), view(y)]
    const fn = name === 'Exp' ? Math.exp : Math.log
    for (let i = 0; i < xv.length; i++) yv[i] = fn(xv[i]!)
    return y
  }
  const {axis, keepDims} = (attrs ?? {}) as {axis?: number[]; keepDims?: boolean}
  const last = shape.length - 1
  if (name !== 'Sum' || keepDims || axis?.length !== 1 || (axis[0] !== last && axis[0] !== -1)) return undefined
  const cols = shape[last]!
  const y = write(null, shape.slice(0, last))
  const [xv, yv] = [view(x), view(y)]
  for (let r = 0; r < yv.length; r++) {
    let sum = 0
    for (let c = 0; c < cols; c++) sum += xv[r * cols + c]!
    yv[r] = sum
  }
  return y
}

/**
 * Values on which the backend's Exp, Log and Sum must give cpuKernel's bits for it to stand in
 * for them, four to a row. The last row's sum is 1 + 2⁻²² added up in a double, 1 in float32.
 */
const PROBE = [
  [-88.5, -20.25, -1, -1e-3],
  [-1e-8, 0, 1e-8, 0.5],
  [Math.LN2, 1, 2.5, 7.125],
  [20.5, 88.7, 1e-30, 3.4e38],
  [1, 2 ** -24, 2 ** -24, 2 ** -24],
]

const BETA1 = 0.9
const BETA2 = 0.999
/** What TF.js's Adam uses on a float32 backend (KernelBackend.epsilon()). */
const EPSILON = 1e-7

/**
 * Adam as tf.train.adam keeps it: first and second moments per variable, and β1ᵗ, β2ᵗ as
 * float32 scalars multiplied by β once per update.
 */
class KernelAdam implements StepOptimizer {
  private readonly ops: Ops
  private readonly moments = new Map<Variable, {m: Info; v: Info}>()
  private accBeta1 = f(BETA1)
  private accBeta2 = f(BETA2)

  constructor(ops: Ops) {
    this.ops = ops
  }

  apply(vars: Variable[], grads: Map<Variable, Info>, lr: number): void {
    const c: AdamConstants = {
      beta1: f(BETA1),
      oneMinusBeta1: f(1 - BETA1),
      beta2: f(BETA2),
      oneMinusBeta2: f(1 - BETA2),
      correction1: f(1 - this.accBeta1),
      correction2: f(1 - this.accBeta2),
      epsilon: f(EPSILON),
      negLr: f(-lr),
    }
    for (const v of vars) {
      const g = grads.get(v)
      if (!g) continue
      let state = this.moments.get(v)
      if (!state) {
        state = {
          m: this.ops.write(new Float32Array(v.size), [1, v.size]),
          v: this.ops.write(new Float32Array(v.size), [1, v.size]),
        }
        this.moments.set(v, state)
      }
      this.ops.adam(v, state.m, state.v, g, c)
    }
    this.accBeta1 = f(this.accBeta1 * f(BETA1))
    this.accBeta2 = f(this.accBeta2 * f(BETA2))
  }

  dispose(): void {
    for (const {m, v} of this.moments.values()) {
      this.ops.free(m)
      this.ops.free(v)
    }
    this.moments.clear()
  }
}

interface SeedPass {
  seed: SeedModule
  alpha: number
  /** ReLU output of the adapter's first layer, and the adapter's output before alpha. */
  inner: Info
  child: Info
}

interface BlockPass {
  input: Info
  /** ReLU output of the block's dense layer: what its seeds read. */
  h: Info
  seeds: SeedPass[]
  out: Info
}

export class KernelStepper implements Stepper {
  readonly kind = 'kernels'
  private readonly tf: Tf
  private readonly net: MorphoNet
  private readonly ops: Ops
  /** Tensors made during the current step, all freed at its end. */
  private made: Info[] = []

  private constructor(tf: Tf, net: MorphoNet, ops: Ops) {
    this.tf = tf
    this.net = net
    this.ops = ops
  }

  static create(tf: Tf, net: MorphoNet): KernelStepper | undefined {
    const ops = opsFor(tf)
    return ops ? new KernelStepper(tf, net, ops) : undefined
  }

  adam(): StepOptimizer {
    return new KernelAdam(this.ops)
  }

  step(batch: Batch, groups: StepGroup[], shadow?: SeedModule): number {
    try {
      const {loss, grads} = this.run(batch, new Set(groups.flatMap((g) => g.vars)), shadow)
      for (const group of groups) (group.opt as KernelAdam).apply(group.vars, grads, group.lr)
      return loss
    } finally {
      this.release()
    }
  }

  gradients(batch: Batch, vars: Variable[], shadow?: SeedModule): {loss: number; grads: Float32Array[]} {
    try {
      const {loss, grads} = this.run(batch, new Set(vars), shadow)
      return {loss, grads: vars.map((v) => Float32Array.from(this.ops.view(grads.get(v)!)))}
    } finally {
      this.release()
    }
  }

  private release(): void {
    for (const t of this.made) this.ops.free(t)
    this.made = []
  }

  private keep(t: Info): Info {
    this.made.push(t)
    return t
  }

  private dense(x: Info, layer: Dense, relu: boolean): Info {
    return this.keep(this.ops.dense(x, layer.kernel, layer.bias, relu ? this.relu : 'none'))
  }

  /** Which ReLU the pass in progress uses: training's, or the scoring pass's fused one. */
  private relu: Relu = 'relu'

  logits(x: Tensor2D): Tensor2D {
    const [rows] = x.shape
    this.relu = 'fused'
    try {
      const {info, owned} = this.ops.input(x)
      if (owned) this.keep(info)
      const logits = this.forward(info).logits
      return this.tf.tensor2d(Float32Array.from(this.ops.view(logits)), [rows, this.net.arch.numClasses])
    } finally {
      this.relu = 'relu'
      this.release()
    }
  }

  /** The gradients of one dense layer given the gradient of its (pre-activation) output. */
  private denseGrads(
    input: Info,
    layer: Dense,
    d: Info,
    need: Set<Variable>,
    grads: Map<Variable, Info>,
    below: boolean,
  ): Info | undefined {
    if (need.has(layer.kernel)) grads.set(layer.kernel, this.keep(this.ops.weightGrad(input, d)))
    if (need.has(layer.bias)) grads.set(layer.bias, this.keep(this.ops.colsum(d)))
    return below ? this.keep(this.ops.inputGrad(d, layer.kernel)) : undefined
  }

  /** out = op(a[i], b[i]) elementwise, rounded to float32 as the backend's kernels round. */
  private elementwise(a: Info, b: Info | number, op: (x: number, y: number) => number): Info {
    const out = this.keep(this.ops.write(null, a.shape as [number, number]))
    const o = this.ops.view(out)
    const x = this.ops.view(a)
    if (typeof b === 'number') {
      const s = f(b)
      for (let i = 0; i < o.length; i++) o[i] = f(op(x[i]!, s))
    } else {
      const y = this.ops.view(b)
      for (let i = 0; i < o.length; i++) o[i] = f(op(x[i]!, y[i]!))
    }
    return out
  }

  /** The forward pass from x, keeping what the gradient needs. */
  private forward(x: Info, shadow?: SeedModule): {a0: Info; blocks: BlockPass[]; last: Info; logits: Info} {
    const {net} = this
    const arch = net.arch
    const a0 = this.dense(x, net.input, true)
    const blocks: BlockPass[] = []
    let h = a0
    for (let layer = 0; layer < arch.numLayers; layer++) {
      const input = h
      const out0 = this.dense(input, net.hidden[layer]!, true)
      const seeds: SeedPass[] = []
      for (const seed of net.seedsOfLayer(layer)) {
        const alpha = seed === shadow ? 1 : seed.life.alpha
        if (alpha === 0 || !seed.w1) continue
        const inner = this.dense(out0, {kernel: seed.w1, bias: seed.b1!}, true)
        const child = this.dense(inner, {kernel: seed.w2!, bias: seed.b2!}, false)
        seeds.push({seed, alpha, inner, child})
      }
      let out = out0
      if (seeds.length > 0) {
        let sum: Info | undefined
        for (const s of seeds) {
          const c = s.alpha === 1 ? s.child : this.elementwise(s.child, s.alpha, (p, q) => p * q)
          sum = sum ? this.elementwise(sum, c, (p, q) => p + q) : c
        }
        const per = arch.seedsPerLayer
        out = this.elementwise(out0, per > 1 ? this.elementwise(sum!, per, (p, q) => p / q) : sum!, (p, q) => p + q)
      }
      blocks.push({input, h: out0, seeds, out})
      h = out
    }
    return {a0, blocks, last: h, logits: this.dense(h, net.output, false)}
  }

  private run(batch: Batch, need: Set<Variable>, shadow?: SeedModule): {loss: number; grads: Map<Variable, Info>} {
    const {net} = this
    const {rows} = batch
    const arch = net.arch
    const x = this.keep(this.ops.write(batch.x.slice(0, rows * arch.inputDim), [rows, arch.inputDim]))
    const {a0, blocks, last: h, logits} = this.forward(x, shadow)

    // The loss and its gradient at the logits.
    const {loss, dLogits} = this.lossGrad(logits, batch)
    const grads = new Map<Variable, Info>()

    // Backward, as far down as the lowest variable asked for.
    const lowest = this.lowestPosition(need)
    let d: Info | undefined = this.denseGrads(h, net.output, dLogits, need, grads, lowest <= arch.numLayers)
    for (let layer = arch.numLayers - 1; layer >= 0 && d; layer--) {
      const block = blocks[layer]!
      const dense = net.hidden[layer]!
      const position = layer + 1
      const needH = lowest < position || need.has(dense.kernel) || need.has(dense.bias)
      let dh: Info | undefined = d
      if (block.seeds.length > 0) {
        const per = arch.seedsPerLayer
        const dSum = per > 1 ? this.elementwise(d, per, (p, q) => p / q) : d
        const fromSeeds: Info[] = []
        for (const s of block.seeds) {
          const dChild = s.alpha === 1 ? dSum : this.elementwise(dSum, s.alpha, (p, q) => p * q)
          const seed = s.seed
          const outer = {kernel: seed.w2!, bias: seed.b2!}
          const first = {kernel: seed.w1!, bias: seed.b1!}
          const needInner = needH || need.has(first.kernel) || need.has(first.bias)
          const dInner = this.denseGrads(s.inner, outer, dChild, need, grads, needInner)
          if (!dInner) continue
          this.ops.mask(dInner, s.inner)
          const dFrom = this.denseGrads(block.h, first, dInner, need, grads, needH)
          if (dFrom) fromSeeds.push(dFrom)
        }
        // The tape adds each consumer's gradient to the residual's, the last recorded first.
        dh = needH ? d : undefined
        for (let i = fromSeeds.length - 1; i >= 0 && dh; i--) dh = this.elementwise(dh, fromSeeds[i]!, (p, q) => p + q)
      }
      if (!needH || !dh) break
      this.ops.mask(dh, block.h)
      d = this.denseGrads(block.input, dense, dh, need, grads, lowest < position)
    }
    if (d && lowest === 0) {
      this.ops.mask(d, a0)
      this.denseGrads(x, net.input, d, need, grads, false)
    }
    return {loss, grads}
  }

  /** Where a variable sits: 0 the input layer, l + 1 hidden block l (and its seeds), L + 1 the head. */
  private lowestPosition(need: Set<Variable>): number {
    const {net} = this
    const L = net.arch.numLayers
    let lowest = L + 1
    const at = (vars: Variable[], position: number) => {
      if (position < lowest && vars.some((v) => need.has(v))) lowest = position
    }
    at([net.input.kernel, net.input.bias], 0)
    for (const [l, d] of net.hidden.entries()) at([d.kernel, d.bias], l + 1)
    for (const seed of net.seeds) {
      if (seed.w1) at([seed.w1, seed.b1!, seed.w2!, seed.b2!], seed.life.layer + 1)
    }
    return lowest
  }

  /**
   * tf.losses.softmaxCrossEntropy and its gradient at the logits, op for op as TF.js computes
   * them (the log-sum-exp, the per-row cost, its mean; then (exp(log-softmax) − labels)/rows):
   * the exponentials, logarithm and sums as the backend's kernels give them, the rest exact in float32.
   */
  private lossGrad(logits: Info, batch: Batch): {loss: number; dLogits: Info} {
    const {ops} = this
    const [rows, classes] = logits.shape as [number, number]
    const y = batch.y
    const top = new Float32Array(rows)
    // Views are taken after the allocations they are used across (an allocation can move memory).
    const shifted = this.keep(ops.write(null, [rows, classes]))
    const z = ops.view(logits)
    const v = ops.view(shifted)
    for (let r = 0; r < rows; r++) {
      let m = z[r * classes]!
      for (let c = 1; c < classes; c++) m = Math.max(m, z[r * classes + c]!)
      top[r] = m
      for (let c = 0; c < classes; c++) v[r * classes + c] = f(z[r * classes + c]! - m)
    }
    const sums = this.keep(
      ops.kernel('Sum', {x: this.keep(ops.kernel('Exp', {x: shifted}))}, {axis: [1], keepDims: false}),
    )
    const logOfSums = this.keep(ops.kernel('Log', {x: sums}))
    // log-softmax = z − (max + log Σ exp(z − max)); the cost of a row is −Σ log-softmax · label.
    const logSoftmax = this.keep(ops.write(null, [rows, classes]))
    const cost = this.keep(ops.write(null, [rows, classes]))
    const logs = ops.view(logOfSums)
    const ls = ops.view(logSoftmax)
    const cv = ops.view(cost)
    const zv = ops.view(logits)
    for (let r = 0; r < rows; r++) {
      const lse = f(top[r]! + logs[r]!)
      for (let c = 0; c < classes; c++) {
        const i = r * classes + c
        ls[i] = f(zv[i]! - lse)
        cv[i] = -f(ls[i]! * y[i]!)
      }
    }
    const perRow = this.keep(ops.kernel('Sum', {x: cost}, {axis: [1], keepDims: false}))
    const total = this.keep(ops.kernel('Sum', {x: perRow}, {axis: [0], keepDims: false}))
    const loss = f(ops.view(total)[0]! / rows)
    // d loss / d logits = (1/rows) · (exp(log-softmax) − labels).
    const probs = this.keep(ops.kernel('Exp', {x: logSoftmax}))
    const dLogits = this.keep(ops.write(null, [rows, classes]))
    const dy = f(1 / rows)
    const d = ops.view(dLogits)
    const p = ops.view(probs)
    for (let i = 0; i < rows * classes; i++) d[i] = f(dy * f(p[i]! - y[i]!))
    return {loss, dLogits}
  }
}
