import {Counter, Histogram, Registry} from 'prom-client'
import {describe, expect, it} from 'vitest'
import {LabelledCounter, LabelledHistogram} from '../../src/monitoring/series.js'
import {parseExposition} from './helpers/exposition.js'

const BUCKETS = [0.001, 0.01, 0.1, 1]
// Below the first bound, on a bound, between bounds, above the last one.
const OBSERVATIONS: [string, number][] = [
  ['/predict', 0.0004],
  ['/predict', 0.01],
  ['/predict', 0.05],
  ['/health', 0.002],
  ['/predict', 7],
  ['/health', 0.001],
]

/** The samples of a registry's exposition, name → sorted "labels value" lines. */
async function samples(registry: Registry) {
  const out: Record<string, string[]> = {}
  for (const family of parseExposition(await registry.metrics()).values()) {
    out[family.name] = family.samples
      .map((s) => {
        const labels = Object.entries(s.labels)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([k, v]) => `${k}=${v}`)
        return `${s.name}{${labels.join(',')}} ${s.value}`
      })
      .sort()
    out[`${family.name} type`] = [family.type]
  }
  return out
}

describe('LabelledHistogram and LabelledCounter', () => {
  it('expose exactly what prom-client exposes for the same observations', async () => {
    const ours = new Registry()
    const theirs = new Registry()
    const histogram = new LabelledHistogram({
      name: 'h_seconds',
      help: 'h',
      labelNames: ['endpoint'] as const,
      buckets: BUCKETS,
      registers: [ours],
    })
    const counter = new LabelledCounter({
      name: 'c_total',
      help: 'c',
      labelNames: ['endpoint', 'status'] as const,
      registers: [ours],
    })
    const reference = new Histogram({
      name: 'h_seconds',
      help: 'h',
      labelNames: ['endpoint'],
      buckets: BUCKETS,
      registers: [theirs],
    })
    const referenceCounter = new Counter({
      name: 'c_total',
      help: 'c',
      labelNames: ['endpoint', 'status'],
      registers: [theirs],
    })
    for (const [endpoint, seconds] of OBSERVATIONS) {
      // Half through a kept series, half through the label object, as callers do.
      if (seconds < 0.01) histogram.series({endpoint}).observe(seconds)
      else histogram.observe({endpoint}, seconds)
      counter.inc({endpoint, status: '200'})
      reference.observe({endpoint}, seconds)
      referenceCounter.inc({endpoint, status: '200'})
    }
    counter.series({endpoint: '/predict', status: '500'}).value += 2
    referenceCounter.inc({endpoint: '/predict', status: '500'}, 2)

    const got = await samples(ours)
    expect(got).toEqual(await samples(theirs))
    expect(got.h_seconds).toContain('h_seconds_bucket{endpoint=/predict,le=+Inf} 4')
    expect(got.h_seconds).toContain('h_seconds_bucket{endpoint=/health,le=0.001} 1')
    expect(got.c_total).toContain('c_total{endpoint=/predict,status=500} 2')

    histogram.reset()
    counter.reset()
    expect(parseExposition(await ours.metrics()).get('h_seconds')!.samples).toEqual([])
  })

  it('refuse labels they do not have, missing labels, negative increments and non-finite values', () => {
    const registry = new Registry()
    const counter = new LabelledCounter({name: 'c', help: 'c', labelNames: ['a'] as const, registers: [registry]})
    const histogram = new LabelledHistogram({
      name: 'h',
      help: 'h',
      labelNames: ['a'] as const,
      buckets: BUCKETS,
      registers: [registry],
    })
    expect(() => counter.inc({a: 'x', b: 'y'} as never)).toThrow(/no label "b"/)
    expect(() => counter.inc({} as never)).toThrow(/label "a" is missing/)
    expect(() => counter.inc({a: 'x'}, -1)).toThrow(/only goes up/)
    expect(() => histogram.observe({a: 'x'}, Number.NaN)).toThrow(/not a finite number/)
    // A name is registered once per registry, as with prom-client's own metrics.
    expect(() => new LabelledCounter({name: 'c', help: 'c', labelNames: [], registers: [registry]})).toThrow(
      /already been registered/,
    )
  })
})
