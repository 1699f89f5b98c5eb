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

interface Pending {
  rows: Float32Array
  n: number
  resolve(result: PassResult): void
  reject(err: unknown): void
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

  predict(rows: Float32Array, n: number): Promise<PassResult> {
    if (!this.options.enabled) {
      try {
        return Promise.resolve(this.pass(rows, n))
      } catch (err) {
        return Promise.reject(err)
      }
    }
    return new Promise<PassResult>((resolve, reject) => {
      this.pending.push({rows, n, resolve, reject})
      if (!this.scheduled) {
        this.scheduled = true
        setImmediate(this.flush)
      }
    })
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
    try {
      if (end - start === 1) {
        const item = items[start]!
        item.resolve(this.pass(item.rows, item.n))
        return
      }
      const d = this.forward.inputDim
      const k = this.forward.numClasses
      const stacked = new Float32Array(total * d)
      let offset = 0
      for (let i = start; i < end; i++) {
        stacked.set(items[i]!.rows, offset * d)
        offset += items[i]!.n
      }
      const {probs, ms} = this.pass(stacked, total)
      offset = 0
      for (let i = start; i < end; i++) {
        const item = items[i]!
        item.resolve({probs: probs.subarray(offset * k, (offset + item.n) * k), ms})
        offset += item.n
      }
    } catch (err) {
      for (let i = start; i < end; i++) items[i]!.reject(err)
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
