import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {
  ENDPOINT_LABELS,
  EXCLUDED_ENDPOINTS,
  RELOAD_RESULTS,
  RELOAD_TRIGGERS,
} from '../../src/monitoring/inference-metrics.js'
import {LOSS_SPLITS, PHASES} from '../../src/monitoring/training-metrics.js'
import {
  alerts,
  catalog,
  dashboardQueries,
  MONITORING,
  type Query,
  readYaml,
  registeredNames,
  ruleQueries,
  type Scope,
  usedNames,
} from './helpers/monitoring-files.js'
import {extract} from './helpers/promql.js'

/**
 * The original shipped alerts and panels on metrics that did not exist, with labels they did
 * not have, on a job name nothing scraped. These tests hold every query of monitoring/ against
 * what src/monitoring really registers, so a rename on either side fails here.
 */

const JOB_OF: Record<Scope, string> = {inference: 'inference-server', training: 'morpho-training'}

const DOMAINS: Record<string, readonly string[]> = {
  endpoint: ENDPOINT_LABELS,
  result: RELOAD_RESULTS,
  trigger: RELOAD_TRIGGERS,
  phase: PHASES,
  split: LOSS_SPLITS,
}

/** Problems with one query: unknown metrics, labels the metric lacks, values a label never takes. */
function problems(query: Query): string[] {
  const known = catalog(query.scope)
  const found: string[] = []
  const {selectors, groupingLabels} = extract(query.expr)
  if (selectors.length === 0) found.push('no series selected')
  const labelsInExpr = new Set<string>()
  for (const {metric, matchers} of selectors) {
    const info = known.get(metric)
    if (!info) {
      found.push(`unknown metric ${metric}`)
      continue
    }
    for (const l of info.labels) labelsInExpr.add(l)
    for (const m of matchers) {
      if (!info.labels.includes(m.label)) found.push(`${metric} has no label ${m.label}`)
      if (m.value.includes('$')) continue
      if (m.label === 'job' && m.value !== JOB_OF[query.scope]) {
        found.push(`${metric}: job "${m.value}" is not the ${query.scope} job "${JOB_OF[query.scope]}"`)
      }
      const domain = DOMAINS[m.label]
      if (!domain) continue
      const values = m.op === '=' || m.op === '!=' ? [m.value] : m.value.split('|')
      for (const v of values) {
        if (!domain.includes(v)) found.push(`${metric}: ${m.label} never takes the value "${v}"`)
      }
    }
  }
  for (const label of groupingLabels) {
    if (!labelsInExpr.has(label)) found.push(`grouping label ${label} is on none of the series`)
  }
  return found
}

describe('extract (the checker itself)', () => {
  it('finds selectors, matchers and grouping labels, and skips functions, keywords and ranges', () => {
    const got = extract(
      'histogram_quantile(0.95, sum by (job, le) (rate(x_bucket{endpoint!~"/metrics|/health", le="+Inf"}[5m]))) > 2 and on (job) up{job="a"} == 0 or vector(1e-3)',
    )
    expect(got.selectors).toEqual([
      {
        metric: 'x_bucket',
        matchers: [
          {label: 'endpoint', op: '!~', value: '/metrics|/health'},
          {label: 'le', op: '=', value: '+Inf'},
        ],
      },
      {metric: 'up', matchers: [{label: 'job', op: '=', value: 'a'}]},
    ])
    expect(got.groupingLabels).toEqual(['job', 'le', 'job'])
    expect(got.functions).toEqual(['histogram_quantile', 'sum', 'rate', 'vector'])
  })

  it("flags the original's mistakes", () => {
    expect(problems({scope: 'inference', where: 't', expr: 'inference_model_loaded == 0'})).toEqual([])
    expect(problems({scope: 'training', where: 't', expr: 'kaslite_seed_drift > 0.15'})).toEqual([
      'unknown metric kaslite_seed_drift',
    ])
    expect(problems({scope: 'inference', where: 't', expr: 'up{job="inference"} == 0'})).toEqual([
      'up: job "inference" is not the inference job "inference-server"',
    ])
    expect(
      problems({scope: 'training', where: 't', expr: 'count by (experiment_id) (morpho_train_seed_state{phase="p2"})'}),
    ).toEqual([
      'morpho_train_seed_state has no label phase',
      'morpho_train_seed_state: phase never takes the value "p2"',
      'grouping label experiment_id is on none of the series',
    ])
    expect(
      problems({scope: 'inference', where: 't', expr: 'rate(inference_requests_total{endpoint="/predict/x"}[5m])'}),
    ).toEqual(['inference_requests_total: endpoint never takes the value "/predict/x"'])
  })
})

describe('every query of monitoring/ uses metrics and labels that morpho registers', () => {
  const queries = [...ruleQueries(), ...dashboardQueries()]

  it('finds the queries (rules and both dashboards)', () => {
    expect(ruleQueries().length).toBe(11)
    expect(dashboardQueries().filter((q) => q.scope === 'inference').length).toBeGreaterThan(10)
    expect(dashboardQueries().filter((q) => q.scope === 'training').length).toBeGreaterThan(10)
  })

  it.each(queries.map((q) => [q.where, q] as const))('%s', (_where, query) => {
    expect(problems(query)).toEqual([])
  })

  it('shows every metric the modules register on a dashboard', () => {
    for (const scope of ['inference', 'training'] as const) {
      const onDashboard = dashboardQueries().filter((q) => q.scope === scope)
      const used = new Set(usedNames(scope, onDashboard).map((n) => n.replace(/_(bucket|sum|count)$/, '')))
      const own = registeredNames(scope).filter((n) => !/^(process|nodejs)_/.test(n))
      expect(own.filter((n) => !used.has(n))).toEqual([])
    }
  })

  it('leaves out exactly the monitoring endpoints and the page routes wherever a query excludes endpoints', () => {
    const excluded = [...ruleQueries(), ...dashboardQueries()].flatMap((q) =>
      extract(q.expr).selectors.flatMap((s) =>
        s.matchers.filter((m) => m.label === 'endpoint' && m.op === '!~').map((m) => ({where: q.where, ...m})),
      ),
    )
    // Both rates of the error-rate alert and its traffic guard, the latency alert, and the
    // dashboard's requests, 5xx ratio and three latency quantiles.
    expect(excluded.length).toBe(10)
    for (const m of excluded) expect(m.value, m.where).toBe(EXCLUDED_ENDPOINTS.join('|'))

    // As Prometheus reads it (anchored at both ends), the expression drops exactly the list's
    // label values: no template holds a character that would make it match more or less.
    const pattern = new RegExp(`^(?:${EXCLUDED_ENDPOINTS.join('|')})$`)
    expect(ENDPOINT_LABELS.filter((l) => pattern.test(l))).toEqual(
      ENDPOINT_LABELS.filter((l) => (EXCLUDED_ENDPOINTS as readonly string[]).includes(l)),
    )
    expect(ENDPOINT_LABELS.filter((l) => pattern.test(l)).length).toBe(EXCLUDED_ENDPOINTS.length)
  })

  it('compares the alerts and dashboard panels on user traffic with no other endpoint filter', () => {
    // An `endpoint=~"/predict"` somewhere would make "user traffic" mean different things on
    // the alert and on the panel that explains it.
    const otherEndpointMatchers = [...ruleQueries(), ...dashboardQueries()].flatMap((q) =>
      extract(q.expr).selectors.flatMap((s) =>
        s.matchers.filter((m) => m.label === 'endpoint' && m.op !== '!~').map((m) => `${q.where}: ${m.op}${m.value}`),
      ),
    )
    expect(otherEndpointMatchers).toEqual([])
  })

  it('scrapes the jobs the queries name, at the compose service names', () => {
    const prometheus = readYaml<{scrape_configs: {job_name: string; static_configs: {targets: string[]}[]}[]}>(
      'prometheus.yml',
    )
    const targets = Object.fromEntries(
      prometheus.scrape_configs.map((c) => [c.job_name, c.static_configs.flatMap((s) => s.targets)]),
    )
    expect(targets['inference-server']).toEqual(['morpho:8080'])
    expect(targets['morpho-training']).toContain('trainer:9100')
  })
})

describe('alert rules', () => {
  const readme = readFileSync(join(MONITORING, 'README.md'), 'utf8')

  it.each(alerts().map((a) => [a.alert, a] as const))('%s is labelled, annotated and in the runbook', (name, a) => {
    expect(['critical', 'warning']).toContain(a.labels.severity)
    expect(a.labels.component).toBe(a.scope)
    expect(a.annotations.summary).toBeTruthy()
    expect(a.annotations.description).toBeTruthy()
    expect(a.annotations.runbook).toBe(`monitoring/README.md#${name.toLowerCase()}`)
    expect(readme).toMatch(new RegExp(`^### ${name}$`, 'm'))

    // Annotations only use labels the alert's series carry.
    const {selectors, groupingLabels, functions} = extract(a.expr)
    const known = catalog(a.scope)
    let available = new Set(selectors.flatMap((s) => known.get(s.metric)?.labels ?? []))
    if (functions.some((f) => ['sum', 'max', 'min', 'avg', 'count'].includes(f))) {
      available = new Set(groupingLabels.filter((l) => l !== 'le'))
    }
    const used = [...`${a.annotations.summary} ${a.annotations.description}`.matchAll(/\$labels\.([a-zA-Z_]+)/g)].map(
      (m) => m[1]!,
    )
    expect(used.filter((l) => !available.has(l))).toEqual([])
  })

  it('keeps job and instance on every inference alert, which the inhibition matches on', () => {
    for (const a of alerts().filter((x) => x.scope === 'inference')) {
      const {selectors, groupingLabels, functions} = extract(a.expr)
      if (functions.includes('sum'))
        expect(groupingLabels, a.alert).toEqual(expect.arrayContaining(['job', 'instance']))
      else expect(selectors.length, a.alert).toBeGreaterThan(0)
    }
  })
})
