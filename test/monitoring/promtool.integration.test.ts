import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Registry} from 'prom-client'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {stringify} from 'yaml'
import {createInferenceMetrics} from '../../src/monitoring/inference-metrics.js'
import {TrainingMetrics} from '../../src/monitoring/training-metrics.js'
import {alerts, dashboardQueries, MONITORING, readYaml, testFiles} from './helpers/monitoring-files.js'
import {substituteGrafanaVariables} from './helpers/promql.js'
import {runTool} from './helpers/tools.js'

/**
 * The monitoring files checked by the tools that load them: promtool (Prometheus 2.42) and
 * amtool (Alertmanager 0.25), as real child processes.
 */

const RENDER = join(MONITORING, 'alertmanager', 'render-config.sh')

function expectOk(result: {code: number; stdout: string; stderr: string}) {
  expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0)
}

describe('promtool and amtool accept the monitoring files', () => {
  let tmp: string
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'morpho-promtool-'))
  })
  afterAll(() => rm(tmp, {recursive: true, force: true}))

  it('promtool check config: the scrape config and the rule files it loads', async () => {
    const result = await runTool('promtool', ['check', 'config', 'monitoring/prometheus.yml'], {
      cwd: join(MONITORING, '..'),
    })
    expectOk(result)
    expect(result.stdout).toContain('SUCCESS: 2 rule files found')
    expect(result.stdout).toContain('SUCCESS: 7 rules found')
    expect(result.stdout).toContain('SUCCESS: 4 rules found')
  })

  it('promtool check rules', async () => {
    expectOk(
      await runTool('promtool', ['check', 'rules', 'rules/inference.yml', 'rules/training.yml'], {cwd: MONITORING}),
    )
  })

  it('promtool test rules: every case passes', async () => {
    const result = await runTool('promtool', ['test', 'rules', ...testFiles()])
    expectOk(result)
    expect(result.stdout.match(/SUCCESS/g)).toHaveLength(testFiles().length)
  })

  it('has, for every alert, a case where it fires and a case where it stays quiet', () => {
    interface TestFile {
      tests: {alert_rule_test?: {alertname: string; exp_alerts?: unknown[]}[]}[]
    }
    const firing = new Set<string>()
    const quiet = new Set<string>()
    for (const file of testFiles()) {
      const doc = readYaml<TestFile>('rules', 'tests', file.split('/').at(-1)!)
      for (const group of doc.tests) {
        for (const t of group.alert_rule_test ?? []) {
          if ((t.exp_alerts ?? []).length > 0) firing.add(t.alertname)
          else quiet.add(t.alertname)
        }
      }
    }
    const names = alerts().map((a) => a.alert)
    expect(names).toHaveLength(11)
    expect(names.filter((n) => !firing.has(n))).toEqual([])
    expect(names.filter((n) => !quiet.has(n))).toEqual([])
  })

  it('the dashboard queries are valid PromQL', async () => {
    // Grafana variables replaced; promtool parses each query as a recording rule.
    const rules = {
      groups: [
        {
          name: 'dashboards',
          rules: dashboardQueries().map((q, i) => ({
            record: `dashboard_query_${i}`,
            expr: substituteGrafanaVariables(q.expr),
          })),
        },
      ],
    }
    const file = join(tmp, 'dashboards.rules.yml')
    await writeFile(file, stringify(rules))
    const result = await runTool('promtool', ['check', 'rules', file])
    expectOk(result)
  })

  it('promtool check metrics: the modules expose lint-clean metrics', async () => {
    const registry = new Registry()
    const serving = createInferenceMetrics(registry, {defaultMetrics: false})
    serving.observeRequest({method: 'POST', target: '/predict', status: 200, seconds: 0.01})
    serving.setModel({model: 'spirals', version: '1', stage: 'Production'})
    const training = new TrainingMetrics(registry)
    training.start({runId: 'r1', problem: 'spirals', backend: 'wasm', patience: 15, seeds: ['seed1_1']})
    const result = await runTool('promtool', ['check', 'metrics'], {input: await registry.metrics()})
    expectOk(result)
    expect(result.stdout + result.stderr).toBe('')
  })

  it('amtool check-config: the Alertmanager config, rendered with a webhook URL from the environment', async () => {
    const rendered = join(tmp, 'alertmanager.yml')
    const url = 'https://hooks.example.com/alerts?token=a&b=c|d'
    expectOk(
      await runTool('sh', [RENDER, join(MONITORING, 'alertmanager.yml'), rendered], {env: {ALERT_WEBHOOK_URL: url}}),
    )
    const text = await readFile(rendered, 'utf8')
    expect(text).not.toContain('ALERT_WEBHOOK_URL}')
    expect(text.match(/url: "(.*)"/g)).toEqual([`url: "${url}"`, `url: "${url}"`])

    const result = await runTool('amtool', ['check-config', rendered])
    expectOk(result)
    expect(result.stdout).toContain('2 inhibit rules')
    expect(result.stdout).toContain('2 receivers')
  })

  it('refuses to render without a usable webhook URL', async () => {
    const out = join(tmp, 'never.yml')
    for (const value of [undefined, '', 'hooks.example.com/x', 'ftp://x/y', "http://x/it's"]) {
      const result = await runTool('sh', [RENDER, join(MONITORING, 'alertmanager.yml'), out], {
        env: {ALERT_WEBHOOK_URL: value},
      })
      expect(result.code, String(value)).toBe(2)
      expect(result.stderr).toContain('ALERT_WEBHOOK_URL')
    }
  })
})
