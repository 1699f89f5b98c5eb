import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {Registry} from 'prom-client'
import {parse} from 'yaml'
import {createInferenceMetrics, createStoreGauge, STORE_UP} from '../../../src/monitoring/inference-metrics.js'
import {TrainingMetrics} from '../../../src/monitoring/training-metrics.js'
import {ROOT} from '../../helpers/cli.js'
import {extract} from './promql.js'

export const MONITORING = join(ROOT, 'monitoring')

export type Scope = 'inference' | 'training'

export interface RuleDoc {
  groups: {
    name: string
    rules: {
      alert: string
      expr: string
      for?: string
      labels: Record<string, string>
      annotations: Record<string, string>
    }[]
  }[]
}

export interface Query {
  scope: Scope
  where: string
  expr: string
}

export function readYaml<T>(...path: string[]): T {
  return parse(readFileSync(join(MONITORING, ...path), 'utf8')) as T
}

export function ruleFiles(): {scope: Scope; file: string; doc: RuleDoc}[] {
  return (['inference', 'training'] as const).map((scope) => ({
    scope,
    file: `rules/${scope}.yml`,
    doc: readYaml<RuleDoc>('rules', `${scope}.yml`),
  }))
}

export function alerts() {
  return ruleFiles().flatMap(({scope, file, doc}) =>
    doc.groups.flatMap((g) => g.rules.map((rule) => ({scope, file, group: g.name, ...rule}))),
  )
}

interface Panel {
  id: number
  title: string
  type: string
  targets?: {expr: string; refId: string}[]
  panels?: Panel[]
}

interface Dashboard {
  uid: string
  title: string
  panels: Panel[]
  templating: {list: {name: string; query: {query: string} | string; type: string}[]}
}

export function dashboards(): {scope: Scope; file: string; json: Dashboard}[] {
  return (['inference', 'training'] as const).map((scope) => ({
    scope,
    file: `grafana/dashboards/${scope}.json`,
    json: JSON.parse(readFileSync(join(MONITORING, 'grafana', 'dashboards', `${scope}.json`), 'utf8')) as Dashboard,
  }))
}

/** Every PromQL query of the dashboards (panel targets, and the metric of label_values() variables). */
export function dashboardQueries(): Query[] {
  const out: Query[] = []
  for (const {scope, file, json} of dashboards()) {
    const walk = (panels: Panel[]) => {
      for (const panel of panels) {
        for (const t of panel.targets ?? []) {
          out.push({scope, where: `${file} panel "${panel.title}" ${t.refId}`, expr: t.expr})
        }
        if (panel.panels) walk(panel.panels)
      }
    }
    walk(json.panels)
    for (const v of json.templating.list) {
      if (v.type !== 'query') continue
      const q = typeof v.query === 'string' ? v.query : v.query.query
      const m = /^label_values\((.+),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$/.exec(q)
      if (!m) throw new Error(`${file} variable ${v.name}: only label_values(selector, label) is expected, got ${q}`)
      out.push({scope, where: `${file} variable $${v.name}`, expr: m[1]!})
    }
  }
  return out
}

export function ruleQueries(): Query[] {
  return alerts().map((a) => ({scope: a.scope, where: `${a.file} ${a.alert}`, expr: a.expr}))
}

/**
 * The metric names that queries select, sorted and without repeats; histograms by the series
 * the queries name (`x_bucket`, `x_sum`). `up` is left out: Prometheus makes it, not morpho;
 * and so is `morpho_store_up`, which only a server following a database store has (what a
 * scrape of any server must hold; test/serve/replicas.integration.test.ts reads it there).
 * By default the queries of one scope's alert rules and dashboard: what must be scraped for
 * them to work.
 */
export function usedNames(
  scope: Scope,
  queries: Query[] = [...ruleQueries(), ...dashboardQueries()].filter((q) => q.scope === scope),
): string[] {
  const names = queries.flatMap((q) => extract(q.expr).selectors.map((s) => s.metric))
  return [...new Set(names)].filter((n) => n !== 'up' && n !== STORE_UP).sort()
}

export function testFiles(): string[] {
  return readdirSync(join(MONITORING, 'rules', 'tests'))
    .filter((f) => f.endsWith('.yml'))
    .map((f) => join(MONITORING, 'rules', 'tests', f))
}

export interface MetricInfo {
  type: string
  labels: string[]
}

/**
 * What each scope really exposes, read from the modules themselves: the serving registry
 * (with prom-client's default metrics, as `morpho serve` has them, and the store gauge of a
 * server following a database store) or the training one. Every series also gets job and
 * instance from the scrape, and `up` exists for every target.
 */
export function catalog(scope: Scope): Map<string, MetricInfo> {
  const registry = new Registry()
  if (scope === 'inference') {
    createInferenceMetrics(registry)
    createStoreGauge(registry)
  } else new TrainingMetrics(registry)
  const out = new Map<string, MetricInfo>()
  for (const metric of registry.getMetricsAsArray() as unknown as {
    name: string
    type: string
    labelNames: string[]
  }[]) {
    const labels = [...metric.labelNames, 'job', 'instance']
    if (metric.type === 'histogram') {
      out.set(`${metric.name}_bucket`, {type: 'histogram', labels: [...labels, 'le']})
      out.set(`${metric.name}_sum`, {type: 'histogram', labels})
      out.set(`${metric.name}_count`, {type: 'histogram', labels})
    } else {
      out.set(metric.name, {type: metric.type, labels})
    }
  }
  out.set('up', {type: 'gauge', labels: ['job', 'instance']})
  return out
}

/** The names the modules register (histograms by their base name). */
export function registeredNames(scope: Scope): string[] {
  const registry = new Registry()
  if (scope === 'inference') createInferenceMetrics(registry)
  else new TrainingMetrics(registry)
  return (registry.getMetricsAsArray() as unknown as {name: string}[]).map((m) => m.name)
}
