import {availableParallelism} from 'node:os'
import {MessageChannel, type MessagePort, Worker} from 'node:worker_threads'

/**
 * A second thread for the cpu step's matrix products. The step keeps its values in a shared
 * WebAssembly memory; this thread runs gemm64 (simd.ts) on that memory for a band of a
 * product's columns while the step's own thread does the others. Each output is still added up
 * by one thread in the same order, so the numbers are the same as on one thread, bit for bit.
 *
 * One thread serves the whole process (a training run and the scoring of its test set each
 * have a step, and a memory). They talk through a small shared array: the step writes a band's
 * arguments and bumps `posted`, computes its own band, then claims the posted one unless the
 * thread has: a thread still asleep (it spins a little after each band, as the step's products
 * come closer together than that, then sleeps in Atomics.wait) costs the step nothing but the
 * band it then computes itself. A band the thread claimed, the step waits for. A product is
 * split only once the thread has said it is ready, so its start (a few tens of milliseconds)
 * costs a run nothing either. An error on the thread turns it off for good: the step then
 * computes every band itself.
 *
 * MORPHO_TRAIN_THREADS=1 keeps the step on one thread; so do sweeps running several trainings
 * at once, and machines with one core.
 */

const POSTED = 0
const DONE = 1
const STATE = 2
const COMMAND = 3
/** 3·posted while the posted band is nobody's, 3·posted + 1 once the thread has it, + 2 once the step has. */
const CLAIM = 4
const ARGS = 5
const GEMM64_ARGS = 13
// STATE: 0 while the thread starts.
const [READY, FAILED] = [1, 2]
const [GEMM, ATTACH, STOP] = [0, 1, 2]
/** Atomics.load polls before sleeping: about 0.4 ms here. */
const SPINS = 30_000
/** Posts are numbered 1 … WRAP − 1 and around again (3 · WRAP stays an int32). */
const WRAP = 1 << 29

/** The thread's code: CommonJS, evaluated (nothing to find on disk, inside the single binary too). */
const SOURCE = `
const {workerData, parentPort, receiveMessageOnPort} = require('node:worker_threads')
const {control, port} = workerData
const c = new Int32Array(control)
let gemm64
Atomics.store(c, ${STATE}, ${READY})
parentPort.postMessage('ready')
let seen = 0
for (;;) {
  let spins = 0
  while (Atomics.load(c, ${POSTED}) === seen) {
    if (++spins === ${SPINS}) {
      Atomics.wait(c, ${POSTED}, seen)
      spins = 0
    }
  }
  seen = Atomics.load(c, ${POSTED})
  const command = Atomics.load(c, ${COMMAND})
  if (command === ${STOP}) break
  // A band the step has claimed is not this thread's to do, nor a command posted since it looked.
  if (Atomics.compareExchange(c, ${CLAIM}, 3 * seen, 3 * seen + 1) !== 3 * seen) continue
  try {
    if (command === ${ATTACH}) {
      const {module, memory} = receiveMessageOnPort(port).message
      gemm64 = new WebAssembly.Instance(module, {env: {memory}}).exports.gemm64
    } else {
      gemm64(${Array.from({length: GEMM64_ARGS}, (_, i) => `c[${ARGS + i}]`).join(', ')})
    }
  } catch {
    Atomics.store(c, ${STATE}, ${FAILED})
  }
  Atomics.store(c, ${DONE}, seen)
  Atomics.notify(c, ${DONE})
}
`

/** How many threads a training step may use: 1, or 2 and more for the second thread. */
export const TRAIN_THREADS_ENV = 'MORPHO_TRAIN_THREADS'

/** Whether the step may use a second thread: two cores or more, unless MORPHO_TRAIN_THREADS says 1. */
export function threadsWanted(): boolean {
  const asked = process.env[TRAIN_THREADS_ENV]
  if (asked !== undefined && asked !== '') return Number(asked) > 1
  return availableParallelism() > 1
}

/** The threads a training step on `backend` may use: 2 where the cpu step splits its large products, else 1. */
export function stepThreads(backend: string): 1 | 2 {
  return backend === 'cpu' && process.env.MORPHO_STEP !== 'reference' && threadsWanted() ? 2 : 1
}

let shared: ProductThread | undefined | null = null

export class ProductThread {
  /** Bands of products the thread has computed (the tests check that a step did split). */
  bands = 0
  /** Resolves true once the thread can take products, false if it could not start. */
  readonly started: Promise<boolean>
  private readonly control: Int32Array
  private readonly port: MessagePort
  private posted = 0
  private attached: WebAssembly.Memory | undefined

  private constructor(control: Int32Array, worker: Worker, port: MessagePort) {
    this.control = control
    this.port = port
    this.started = new Promise((resolve) => {
      worker.once('message', () => resolve(true))
      worker.once('error', () => {
        Atomics.store(control, STATE, FAILED)
        resolve(false)
      })
    })
    // A process ends when its work does; the thread never holds it open.
    worker.unref()
    port.unref()
  }

  /** The process's thread, started on first use; undefined where threads are not wanted or cannot start. */
  static get(): ProductThread | undefined {
    if (!threadsWanted()) return undefined
    if (shared === null) shared = ProductThread.start()
    return shared
  }

  private static start(): ProductThread | undefined {
    try {
      const control = new Int32Array(new SharedArrayBuffer((ARGS + GEMM64_ARGS) * 4))
      const {port1, port2} = new MessageChannel()
      const worker = new Worker(SOURCE, {
        eval: true,
        workerData: {control: control.buffer, port: port2},
        transferList: [port2],
        // Its own output would interleave with the run's; it prints nothing.
        stdout: true,
        stderr: true,
      })
      return new ProductThread(control, worker, port1)
    } catch {
      return undefined
    }
  }

  /** Whether the thread has begun the band posted last. */
  get taken(): boolean {
    return Atomics.load(this.control, CLAIM) === 3 * this.posted + 1
  }

  /** True while the thread can take products. */
  get ready(): boolean {
    return Atomics.load(this.control, STATE) === READY
  }

  /**
   * Posts gemm64(...args) (simd.ts's order of arguments) for the thread, over `memory` with an
   * instance of `module`; false (nothing posted) if the thread is not ready. Every post is
   * followed by finish() before the next.
   */
  postGemm64(memory: WebAssembly.Memory, module: WebAssembly.Module, args: number[]): boolean {
    if (!this.ready) return false
    if (this.attached !== memory) {
      this.port.postMessage({module, memory})
      this.command(ATTACH, [])
      this.attached = memory
      if (!this.wait()) return false
    }
    this.command(GEMM, args)
    return true
  }

  /**
   * The band posted last: 'mine' if the thread had not begun it (the caller computes it now),
   * 'done' once the thread has, 'failed' if it failed there (the caller computes it; the thread
   * is off for good).
   */
  finish(): 'mine' | 'done' | 'failed' {
    const c = this.control
    const unclaimed = 3 * this.posted
    if (Atomics.compareExchange(c, CLAIM, unclaimed, unclaimed + 2) === unclaimed) return 'mine'
    if (!this.wait()) return 'failed'
    this.bands++
    return 'done'
  }

  private wait(): boolean {
    const c = this.control
    let spins = 0
    while (Atomics.load(c, DONE) !== this.posted) {
      if (++spins === SPINS) {
        Atomics.wait(c, DONE, Atomics.load(c, DONE), 5)
        spins = 0
      }
    }
    return this.ready
  }

  private command(command: number, args: number[]): void {
    const c = this.control
    c[COMMAND] = command
    c.set(args, ARGS)
    this.posted = (this.posted % (WRAP - 1)) + 1
    Atomics.store(c, CLAIM, 3 * this.posted)
    Atomics.store(c, POSTED, this.posted)
    Atomics.notify(c, POSTED)
  }

  /** Ends the thread (tests; a process just exits). */
  static stop(): void {
    const thread = shared
    shared = null
    if (!thread?.ready) return
    Atomics.store(thread.control, STATE, FAILED)
    thread.command(STOP, [])
  }
}
