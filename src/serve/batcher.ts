import type {Forward} from './forward.js'

/**
 * Micro-batching: the requests whose bodies arrive in the same turn of the event loop are
 * stacked into one forward pass, flushed by setImmediate once the loop has read every socket
 * that was ready. No timer, so a lone request waits for nothing; under concurrent load one
 * TF.js call (a nearly flat cost) answers many requests.
 */

export interface PassResult {
  /** Probabilities of this request's rows: n × numClasses, row-major. */
  probs: Float32Array
  /** Milliseconds of the forward pass that computed them (shared with its batch-mates). */
  ms: number
}

export interface BatcherOptions {
  enabled: boolean
  /** Rows per forward pass at most; a request larger than this runs alone. */
  maxPassRows: number
  /** Told about every forward pass: its rows and seconds. */
  onPass?(rows: number, seconds: number): void
}

/**
 * Called once with the pass's result, or with the error that failed it. It must not throw: its
 * batch-mates are answered after it.
 */
export type PassCallback = (err: unknown, result?: PassResult) => void

interface Pending {
  rows: Float32Array
  n: number
  done: PassCallback
}

export class MicroBatcher {
  private pending: Pending[] = []
  private scheduled = false
  private readonly forward: Forward
  private readonly options: BatcherOptions

  constructor(forward: Forward, options: BatcherOptions) {
    this.forward = forward
    this.options = options
  }

  /**
   * The probabilities of `rows`, to `done`. A callback rather than a promise: the request path
   * answers from inside it, without the promise jobs a resolution would queue (a few per
   * request at tens of thousands of requests a second). Without micro-batching `done` runs
   * before submit returns.
   */
  submit(rows: Float32Array, n: number, done: PassCallback): void {
    if (!this.options.enabled) {
      let result: PassResult
      try {
        result = this.pass(rows, n)
      } catch (err) {
        done(err)
        return
      }
      done(undefined, result)
      return
    }
    this.pending.push({rows, n, done})
    if (!this.scheduled) {
      this.scheduled = true
      setImmediate(this.flush)
    }
  }

  private readonly flush = (): void => {
    this.scheduled = false
    const items = this.pending
    this.pending = []
    let start = 0
    while (start < items.length) {
      // Take requests in arrival order while they fit in one pass.
      let end = start + 1
      let rows = items[start]!.n
      while (end < items.length && rows + items[end]!.n <= this.options.maxPassRows) rows += items[end++]!.n
      this.run(items, start, end, rows)
      start = end
    }
  }

  private run(items: Pending[], start: number, end: number, total: number): void {
    let result: PassResult
    try {
      if (end - start === 1) {
        result = this.pass(items[start]!.rows, items[start]!.n)
      } else {
        const d = this.forward.inputDim
        const stacked = new Float32Array(total * d)
        let offset = 0
        for (let i = start; i < end; i++) {
          stacked.set(items[i]!.rows, offset * d)
          offset += items[i]!.n
        }
        result = this.pass(stacked, total)
      }
    } catch (err) {
      for (let i = start; i < end; i++) items[i]!.done(err)
      return
    }
    const k = this.forward.numClasses
    let offset = 0
    for (let i = start; i < end; i++) {
      const item = items[i]!
      item.done(undefined, {probs: result.probs.subarray(offset * k, (offset + item.n) * k), ms: result.ms})
      offset += item.n
    }
  }

  private pass(rows: Float32Array, n: number): PassResult {
    const t = performance.now()
    const probs = this.forward.predictProba(rows, n)
    const seconds = (performance.now() - t) / 1000
    this.options.onPass?.(n, seconds)
    return {probs, ms: seconds * 1000}
  }
}
