import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {PAGE_ENDPOINTS} from '../../src/net/routes.js'
import type {RunRecord} from '../../src/tracking/types.js'
import {runCli, tempDir} from '../helpers/cli.js'
import {alerts, usedNames} from './helpers/monitoring-files.js'
import {type RunningMorpho, startMorpho} from './helpers/morpho.js'
import {missingNames, type RunningPrometheus, startPrometheus, waitFor} from './helpers/prometheus.js'
import {extract} from './helpers/promql.js'

/**
 * A real Prometheus, configured from monitoring/prometheus.yml, scrapes what a deployment
 * really runs: the built `morpho serve` with a trained and promoted model, and a `morpho train`
 * run with --metrics-port. Every metric an alert rule or a dashboard reads must arrive under
 * the job those queries name; the metric modules alone cannot show that the server and the
 * training loop register and update them.
 */

// Trains in about a second (see test/train.integration.test.ts).
const TINY = ['--samples', '240', '--hidden-dim', '8', '--num-layers', '2', '--batch-size', '32']
const SHORT = [...TINY, '--warm-up-epochs', '3', '--adaptation-epochs', '3']
// Minutes at ~10 ms an epoch: the run is scraped while it trains, and stopped once checked.
// The epochs are warm-up: phase 2 ends early once growth can do nothing, and warm-up never does.
const LONG = [...TINY, '--warm-up-epochs', '20000', '--adaptation-epochs', '3']

const SERVE_JOB = 'inference-server'
const TRAIN_JOB = 'morpho-training'

/** The endpoint exclusion of the error-rate alert, as written in the rules file. */
function excludedPattern(): string {
  const rule = alerts().find((a) => a.alert === 'InferenceHighErrorRate')!
  const matcher = extract(rule.expr)
    .selectors.flatMap((s) => s.matchers)
    .find((m) => m.label === 'endpoint' && m.op === '!~')
  return matcher!.value
}

async function post(url: string, body: unknown): Promise<number> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {'content-type': 'application/json'},
    body: JSON.stringify(body),
  })
  await res.arrayBuffer()
  return res.status
}

async function get(url: string): Promise<number> {
  const res = await fetch(url)
  await res.arrayBuffer()
  return res.status
}

describe('Prometheus scraping a real morpho serve and a real morpho train run', () => {
  let home: {path: string; cleanup: () => Promise<void>}
  let server: RunningMorpho | undefined
  let training: RunningMorpho | undefined
  let prometheus: RunningPrometheus | undefined
  let runId = ''

  beforeAll(async () => {
    // A store with a model to serve: trained, registered and promoted as a user would.
    home = await tempDir('morpho-live-')
    const trained = await runCli(['train', ...SHORT, '--register-at', '0', '--quiet', '--home', home.path])
    expect(trained.code, trained.stderr).toBe(0)
    const promoted = await runCli(['promote', 'Production', '--version', '1', '--home', home.path])
    expect(promoted.code, promoted.stderr).toBe(0)

    ;[server, training] = await Promise.all([
      startMorpho(['serve', '--port', '0', '--home', home.path], /listening on (http:\/\/[^,\s]+)/),
      startMorpho(
        ['train', ...LONG, '--no-register', '--quiet', '--metrics-port', '0', '--home', home.path],
        /metrics on (http:\/\/\S+)\/metrics/,
      ),
    ])

    // User traffic (three predictions and a refused request), a health check, and the page's
    // own requests, all before the first scrape, so every series exists when it happens.
    const url = server.found
    const one = {data: [[0.5, -1.2, 0.3]]}
    const two = {data: [one.data[0], [4, 4, -1]]}
    expect(await Promise.all([post(`${url}/predict`, one), post(`${url}/predict`, one)])).toEqual([200, 200])
    expect(await post(`${url}/predict`, two)).toBe(200)
    expect(await post(`${url}/predict`, {data: [[1, 2]]})).toBe(400)
    expect(await get(`${url}/health`)).toBe(200)
    for (const path of ['/', '/assets/app.js', '/api/runs', '/api/served']) {
      expect(await get(`${url}${path}`), path).toBe(200)
    }

    prometheus = await startPrometheus({
      [SERVE_JOB]: [new URL(server.found).host],
      [TRAIN_JOB]: [new URL(training.found).host],
    })
  })

  afterAll(async () => {
    await prometheus?.stop()
    await Promise.all([server?.stop('SIGKILL'), training?.stop('SIGKILL')])
    await home?.cleanup()
  })

  describe('morpho serve (job inference-server)', () => {
    it('is up, with its model loaded', async () => {
      await waitFor(
        'a scrape of morpho serve',
        async () => {
          const up = await prometheus!.query(`up{job="${SERVE_JOB}"}`)
          return up[0]?.value[1] === '1' ? up : undefined
        },
        {log: () => `${prometheus!.output()}\n--- morpho serve ---\n${server!.output()}`},
      )
      const loaded = await prometheus!.query(`inference_model_loaded{job="${SERVE_JOB}"}`)
      expect(loaded.map((s) => s.value[1])).toEqual(['1'])
      const info = await prometheus!.query(`inference_model_info{job="${SERVE_JOB}"}`)
      expect(info.map((s) => s.metric)).toEqual([
        expect.objectContaining({model: 'spirals', version: '1', stage: 'Production'}),
      ])
    })

    it('has every metric that the inference rules and dashboard read', async () => {
      const names = usedNames('inference')
      expect(names).toEqual(
        expect.arrayContaining(['inference_requests_total', 'inference_request_duration_seconds_bucket']),
      )
      expect(await missingNames(prometheus!, SERVE_JOB, names)).toEqual([])
    })

    it('counts the requests under their routes, the refused one as a 400', async () => {
      const predict = await waitFor('the predictions to be scraped', async () => {
        const got = await prometheus!.query(
          `inference_requests_total{job="${SERVE_JOB}", method="POST", endpoint="/predict"}`,
        )
        return got.length === 2 ? got : undefined
      })
      expect(Object.fromEntries(predict.map((s) => [s.metric.status, s.value[1]]))).toEqual({'200': '3', '400': '1'})
      const rows = await prometheus!.query(`inference_rows_predicted_total{job="${SERVE_JOB}"}`)
      expect(rows.map((s) => s.value[1])).toEqual(['4'])
    })

    it("leaves exactly the page's and monitoring's requests out of user traffic, as Prometheus reads the rules", async () => {
      const pattern = excludedPattern()
      const user = await prometheus!.query(
        `sum by (endpoint) (inference_requests_total{job="${SERVE_JOB}", endpoint!~"${pattern}"})`,
      )
      expect(user.map((s) => [s.metric.endpoint, s.value[1]])).toEqual([['/predict', '4']])

      // /metrics is counted once a scrape has been answered, so it shows from the second one on.
      const endpoints = await waitFor('a scrape to be counted', async () => {
        const left = await prometheus!.query(
          `count by (endpoint) (inference_requests_total{job="${SERVE_JOB}", endpoint=~"${pattern}"})`,
        )
        const got = left.map((s) => s.metric.endpoint!).sort()
        return got.includes('/metrics') ? got : undefined
      })
      // The page's requests arrive under the labels the list names, so the regex really drops them.
      expect(endpoints).toEqual(['/', '/api/{resource}', '/assets/{file}', '/health', '/metrics'])
      expect(PAGE_ENDPOINTS).toEqual(expect.arrayContaining(['/', '/api/{resource}', '/assets/{file}']))
    })
  })

  describe('morpho train --metrics-port (job morpho-training)', () => {
    it('is up while the run trains, and labels its series with the run', async () => {
      await waitFor(
        'a scrape of the training run',
        async () => {
          const up = await prometheus!.query(`up{job="${TRAIN_JOB}"}`)
          return up[0]?.value[1] === '1' ? up : undefined
        },
        {log: () => `${prometheus!.output()}\n--- morpho train ---\n${training!.output()}`},
      )
      const info = await waitFor('the run to report', async () => {
        const got = await prometheus!.query(`morpho_train_info{job="${TRAIN_JOB}"}`)
        return got.length > 0 ? got : undefined
      })
      expect(info.map((s) => s.metric)).toEqual([
        expect.objectContaining({problem: 'spirals', backend: 'wasm', run: expect.stringMatching(/^spirals-\d{8}-/)}),
      ])
      runId = info[0]!.metric.run!
      const running = await prometheus!.query(`morpho_train_running{job="${TRAIN_JOB}"}`)
      expect(running.map((s) => [s.metric.run, s.value[1]])).toEqual([[runId, '1']])
    })

    it('has every metric that the training rules and dashboard read', async () => {
      const names = usedNames('training')
      expect(names).toEqual(expect.arrayContaining(['morpho_train_loss', 'morpho_train_seed_drift']))
      expect(await missingNames(prometheus!, TRAIN_JOB, names)).toEqual([])
    })

    it('stops on Ctrl-C once scraped, as an interrupted run', async () => {
      expect(await training!.stop('SIGINT')).toBe(130)
      // The run Prometheus saw is the run on disk.
      const record = JSON.parse(await readFile(join(home.path, 'runs', runId, 'run.json'), 'utf8')) as RunRecord
      expect(record.status).toBe('interrupted')
    })
  })
})
