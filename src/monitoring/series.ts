import type {Registry} from 'prom-client'

/**
 * A counter and a histogram with labels, for the metrics every request updates. prom-client's
 * own classes find a series by hashing its label object on every call (about a microsecond for
 * the two request metrics together, several percent of a one-row prediction). Here a caller
 * looks a series up once and then updates it with an addition, and the registry still renders
 * it with everything else, through prom-client's metric contract (name, help, type, get()).
 */

interface MetricValue {
  labels: Record<string, string | number>
  value: number
  metricName?: string
}

interface MetricData {
  name: string
  help: string
  type: 'counter' | 'histogram'
  values: MetricValue[]
  aggregator: 'sum'
}

export interface CounterSeries {
  value: number
}

/** What both metrics share: a name, its labels, and one series per set of label values. */
abstract class Labelled<L extends string, S> {
  readonly aggregator = 'sum'
  readonly name: string
  readonly help: string
  readonly labelNames: readonly L[]
  protected readonly all = new Map<string, {labels: Record<L, string>; series: S}>()

  constructor(config: {name: string; help: string; labelNames: readonly L[]; registers: Registry[]}) {
    this.name = config.name
    this.help = config.help
    this.labelNames = config.labelNames
    for (const registry of config.registers) registry.registerMetric(this as never)
  }

  protected abstract fresh(): S

  /** The series for these label values, created empty the first time it is asked for. Keep it. */
  series(labels: Record<L, string>): S {
    const key = keyOf(this.labelNames, labels)
    let entry = this.all.get(key)
    if (!entry) {
      checkNames(this.name, this.labelNames, labels)
      entry = {labels: {...labels}, series: this.fresh()}
      this.all.set(key, entry)
    }
    return entry.series
  }

  reset(): void {
    this.all.clear()
  }
}

export class LabelledCounter<L extends string> extends Labelled<L, CounterSeries> {
  readonly type = 'counter'

  protected fresh(): CounterSeries {
    return {value: 0}
  }

  inc(labels: Record<L, string>, by = 1): void {
    if (!(by >= 0)) throw new RangeError(`${this.name}: a counter only goes up; got ${by}`)
    this.series(labels).value += by
  }

  async get(): Promise<MetricData> {
    const values = [...this.all.values()].map(({labels, series}) => ({labels: {...labels}, value: series.value}))
    return {name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator}
  }
}

export class HistogramSeries {
  /** Observations per bucket (not cumulative); the last slot counts those above every bound. */
  readonly counts: Float64Array
  sum = 0
  count = 0
  private readonly bounds: readonly number[]

  constructor(bounds: readonly number[]) {
    this.bounds = bounds
    this.counts = new Float64Array(bounds.length + 1)
  }

  observe(value: number): void {
    const {bounds} = this
    let i = 0
    while (i < bounds.length && value > bounds[i]!) i++
    this.counts[i]!++
    this.sum += value
    this.count++
  }
}

export class LabelledHistogram<L extends string> extends Labelled<L, HistogramSeries> {
  readonly type = 'histogram'
  readonly buckets: readonly number[]

  constructor(config: {
    name: string
    help: string
    labelNames: readonly L[]
    buckets: readonly number[]
    registers: Registry[]
  }) {
    super(config)
    this.buckets = [...config.buckets].sort((a, b) => a - b)
  }

  protected fresh(): HistogramSeries {
    return new HistogramSeries(this.buckets)
  }

  observe(labels: Record<L, string>, value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`${this.name}: not a finite number: ${value}`)
    this.series(labels).observe(value)
  }

  async get(): Promise<MetricData> {
    const values: MetricValue[] = []
    for (const {labels, series} of this.all.values()) {
      let cumulative = 0
      for (let i = 0; i <= this.buckets.length; i++) {
        cumulative += series.counts[i]!
        const le = i < this.buckets.length ? this.buckets[i]! : '+Inf'
        values.push({labels: {...labels, le}, value: cumulative, metricName: `${this.name}_bucket`})
      }
      values.push({labels: {...labels}, value: series.sum, metricName: `${this.name}_sum`})
      values.push({labels: {...labels}, value: series.count, metricName: `${this.name}_count`})
    }
    return {name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator}
  }
}

function checkNames<L extends string>(metric: string, names: readonly L[], labels: Record<L, string>): void {
  for (const name of Object.keys(labels)) {
    if (!names.includes(name as L)) throw new TypeError(`${metric} has no label "${name}"`)
  }
}

function keyOf<L extends string>(names: readonly L[], labels: Record<L, string>): string {
  let key = ''
  for (const name of names) {
    const value = labels[name]
    if (typeof value !== 'string') throw new TypeError(`label "${name}" is missing`)
    key += `${value}\u0000`
  }
  return key
}
