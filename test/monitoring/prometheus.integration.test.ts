import {Registry} from 'prom-client'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {createInferenceMetrics, type InferenceMetrics} from '../../src/monitoring/inference-metrics.js'
import {type MetricsServer, startMetricsServer} from '../../src/monitoring/metrics-server.js'
import {TrainingMetrics} from '../../src/monitoring/training-metrics.js'
import type {EpochMetrics} from '../../src/training/types.js'
import {alerts, usedNames} from './helpers/monitoring-files.js'
import {missingNames, type RunningPrometheus, startPrometheus, waitFor} from './helpers/prometheus.js'

/**
 * A real Prometheus, configured from monitoring/prometheus.yml with its rule files, scrapes
 * the metric modules through the metrics server: the series the rules and dashboards read
 * must arrive under the job names they use, and the rules must evaluate without error and
 * fire on real scraped data.
 */

function epoch(n: number, overrides: Partial<EpochMetrics> = {}): EpochMetrics {
  return {
    epoch: n,
    phase: 'warm_up',
    train_loss: 0.6,
    val_loss: 0.62,
    val_acc: 0.7,
    best_val_acc: 0.7,
    lr: 0.001,
    plateau: 0,
    seeds: {dormant: 2, training: 0, blending: 0, active: 0},
    seed_states: [
      {id: 'seed1_1', state: 'dormant', alpha: 0},
      {id: 'seed2_1', state: 'dormant', alpha: 0},
    ],
    seconds: 0.05,
    ...overrides,
  }
}

describe('Prometheus scraping the morpho metric modules', () => {
  let prometheus: RunningPrometheus
  let serving: InferenceMetrics
  let training: TrainingMetrics
  const servers: MetricsServer[] = []

  beforeAll(async () => {
    // What `morpho serve` will expose: traffic, a loaded model, a reload.
    serving = createInferenceMetrics(new Registry())
    serving.setModel({model: 'spirals', version: '3', stage: 'Production'})
    serving.recordReload('success', 'startup')
    serving.loadDuration.observe(0.2)
    for (const status of [200, 200, 400, 503]) {
      serving.observeRequest({method: 'POST', target: '/predict', status, seconds: 0.004})
    }
    serving.observeRequest({method: 'GET', target: '/v2/models/spirals/versions/3?x=1', status: 200, seconds: 0.001})
    serving.predictionDuration.observe(0.002)
    serving.rowsPredicted.inc(8)
    serving.batchRows.observe(8)

    // What `morpho train --metrics-port` will expose: a run in its adaptation phase.
    training = new TrainingMetrics(new Registry())
    training.start({
      runId: 'run-live',
      problem: 'spirals',
      backend: 'wasm',
      patience: 15,
      seeds: ['seed1_1', 'seed2_1'],
    })
    training.epoch(epoch(1))
    training.event({type: 'phase', epoch: 1, from: 'warm_up', to: 'adaptation', time: new Date().toISOString()})
    training.epoch(epoch(2, {phase: 'adaptation', val_acc: 0.8, best_val_acc: 0.8}))

    const inference = await startMetricsServer(serving.registry, {port: 0})
    const trainer = await startMetricsServer(training.registry, {port: 0})
    servers.push(inference, trainer)
    prometheus = await startPrometheus({
      'inference-server': [`127.0.0.1:${inference.port}`],
      'morpho-training': [`127.0.0.1:${trainer.port}`],
    })
  })

  afterAll(async () => {
    await prometheus?.stop()
    await Promise.all(servers.map((s) => s.close()))
  })

  it('scrapes both jobs, and sees the loaded model', async () => {
    await waitFor(
      'both targets to be up',
      async () => {
        const up = await prometheus.query('up')
        const byJob = Object.fromEntries(up.map((s) => [s.metric.job, s.value[1]]))
        return byJob['inference-server'] === '1' && byJob['morpho-training'] === '1' ? byJob : undefined
      },
      {log: prometheus.output},
    )
    const loaded = await prometheus.query('inference_model_loaded')
    expect(loaded.map((s) => [s.metric.job, s.value[1]])).toEqual([['inference-server', '1']])
    const info = await prometheus.query('inference_model_info')
    expect(info.map((s) => s.metric)).toEqual([
      expect.objectContaining({model: 'spirals', version: '3', stage: 'Production', job: 'inference-server'}),
    ])
  })

  it.each(['inference', 'training'] as const)(
    'has every %s metric that the rules and dashboards use',
    async (scope) => {
      const job = scope === 'inference' ? 'inference-server' : 'morpho-training'
      const names = usedNames(scope)
      expect(names.length).toBeGreaterThan(8)
      expect(await missingNames(prometheus, job, names)).toEqual([])
    },
  )

  it('keeps the endpoint label to route templates and the run label on training series', async () => {
    const endpoints = await prometheus.query('count by (endpoint) (inference_requests_total)')
    expect(endpoints.map((s) => s.metric.endpoint).sort()).toEqual(['/predict', '/v2/models/{name}/versions/{version}'])
    const withoutRun = await prometheus.query('count({job="morpho-training", __name__=~"morpho_train_.*", run=""})')
    expect(withoutRun).toEqual([])
  })

  it('loads every alert rule and evaluates it without error', async () => {
    interface RuleGroup {
      name: string
      rules: {name: string; health: string; lastError?: string; type: string}[]
    }
    const groups = await waitFor('every rule to be evaluated', async () => {
      const data = await prometheus.api<{groups: RuleGroup[]}>('rules')
      const rules = data.groups.flatMap((g) => g.rules)
      return rules.length > 0 && rules.every((r) => r.health !== 'unknown') ? data.groups : undefined
    })
    const rules = groups.flatMap((g) => g.rules)
    expect(rules.map((r) => r.name).sort()).toEqual(
      alerts()
        .map((a) => a.alert)
        .sort(),
    )
    expect(rules.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.lastError}`)).toEqual([])
  })

  it('fires on real scraped data: a failed reload, and a NaN loss', async () => {
    // After the first scrapes, so the failure is an increase of a series that already existed.
    serving.recordReload('failure', 'api')
    training.epoch(epoch(3, {phase: 'adaptation', val_loss: Number.NaN}))

    const firing = await waitFor(
      'the alerts to fire',
      async () => {
        const data = await prometheus.api<{alerts: {labels: Record<string, string>; state: string}[]}>('alerts')
        const names = data.alerts.filter((a) => a.state === 'firing').map((a) => a.labels)
        return names.length >= 2 ? names : undefined
      },
      {log: prometheus.output},
    )
    expect(firing).toEqual(
      expect.arrayContaining([
        expect.objectContaining({alertname: 'InferenceModelReloadFailed', trigger: 'api', job: 'inference-server'}),
        expect.objectContaining({
          alertname: 'TrainingLossExplosion',
          run: 'run-live',
          split: 'val',
          job: 'morpho-training',
        }),
      ]),
    )
  })
})
