import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parse, stringify} from 'yaml'
import {MONITORING} from './helpers/monitoring-files.js'
import {type Daemon, freePort, startDaemon, waitFor} from './helpers/processes.js'
import {runTool} from './helpers/tools.js'

/**
 * A real Alertmanager (0.25, Debian's package) on loopback, on monitoring/alertmanager.yml
 * rendered with a local webhook: the inhibition must really silence what it claims to, and
 * no more, and the webhook must receive the rest through the right route.
 */

interface Notification {
  receiver: string
  status: string
  alerts: {labels: Record<string, string>}[]
}

interface ApiAlert {
  labels: Record<string, string>
  status: {state: string; inhibitedBy: string[]}
}

const INFERENCE = {job: 'inference-server', instance: 'morpho:8080', component: 'inference'}
const TRAINING = {job: 'morpho-training', instance: 'trainer:9100', component: 'training'}

const ALERTS = {
  serverDown: {alertname: 'InferenceServerDown', severity: 'critical', ...INFERENCE},
  latency: {alertname: 'InferenceHighLatency', severity: 'warning', ...INFERENCE},
  reloadFailed: {
    alertname: 'InferenceModelReloadFailed',
    severity: 'warning',
    ...INFERENCE,
    result: 'failure',
    trigger: 'api',
  },
  otherLatency: {alertname: 'InferenceHighLatency', severity: 'warning', ...INFERENCE, instance: 'other:8080'},
  lossExplosion: {alertname: 'TrainingLossExplosion', severity: 'critical', ...TRAINING, run: 'r1', split: 'val'},
  accuracyDrop: {alertname: 'TrainingAccuracyDrop', severity: 'warning', ...TRAINING, run: 'r1'},
  otherRunDrop: {alertname: 'TrainingAccuracyDrop', severity: 'warning', ...TRAINING, run: 'r2'},
  drift: {alertname: 'TrainingSeedDriftHigh', severity: 'warning', ...TRAINING, run: 'r1', seed: 'seed1_1'},
}

describe('Alertmanager with the morpho config', () => {
  let tmp: string
  let webhook: Server
  const received: Notification[] = []
  let am: Daemon
  let api: string

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'morpho-am-'))
    webhook = createServer((req, res) => {
      let body = ''
      req.on('data', (c: Buffer) => {
        body += c.toString()
      })
      req.on('end', () => {
        received.push(JSON.parse(body) as Notification)
        res.writeHead(200).end()
      })
    })
    await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', r))
    const hook = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/alerts`

    const rendered = join(tmp, 'rendered.yml')
    const render = await runTool(
      'sh',
      [join(MONITORING, 'alertmanager', 'render-config.sh'), join(MONITORING, 'alertmanager.yml'), rendered],
      {
        env: {ALERT_WEBHOOK_URL: hook},
      },
    )
    expect(render.code, render.stderr).toBe(0)
    // Only the waits are shortened, so the test takes seconds; routes, receivers and
    // inhibition are the file's own.
    const config = parse(await readFile(rendered, 'utf8')) as {
      route: {group_wait: string; group_interval: string; routes: {group_wait?: string; group_interval?: string}[]}
    }
    for (const route of [config.route, ...config.route.routes]) {
      route.group_wait = '1s'
      route.group_interval = '1s'
    }
    const configFile = join(tmp, 'alertmanager.yml')
    await writeFile(configFile, stringify(config))

    const port = await freePort()
    api = `http://127.0.0.1:${port}`
    am = startDaemon('prometheus-alertmanager', [
      `--config.file=${configFile}`,
      `--storage.path=${join(tmp, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
    ])
    await waitFor('Alertmanager to be ready', async () => ((await fetch(`${api}/-/ready`)).ok ? true : undefined), {
      log: am.output,
    })
  })

  afterAll(async () => {
    await am?.stop()
    await new Promise<void>((r) => (webhook ? webhook.close(() => r()) : r()))
    await rm(tmp, {recursive: true, force: true})
  })

  it('inhibits by the same server and the same run only, and delivers the rest by severity', async () => {
    const endsAt = new Date(Date.now() + 10 * 60_000).toISOString()
    const post = await fetch(`${api}/api/v2/alerts`, {
      method: 'POST',
      headers: {'content-type': 'application/json'},
      body: JSON.stringify(Object.values(ALERTS).map((labels) => ({labels, endsAt}))),
    })
    expect(post.status).toBe(200)

    const key = (labels: Record<string, string>) => `${labels.alertname}@${labels.instance}/${labels.run ?? ''}`
    const state = await waitFor(
      'the inhibition to settle',
      async () => {
        const alerts = (await (await fetch(`${api}/api/v2/alerts`)).json()) as ApiAlert[]
        if (alerts.length !== Object.keys(ALERTS).length) return undefined
        const inhibited = alerts.filter((a) => a.status.inhibitedBy.length > 0).map((a) => key(a.labels))
        return inhibited.length === 3
          ? Object.fromEntries(alerts.map((a) => [key(a.labels), a.status.state]))
          : undefined
      },
      {log: am.output},
    )
    expect(state).toEqual({
      'InferenceServerDown@morpho:8080/': 'active',
      'InferenceHighLatency@morpho:8080/': 'suppressed',
      'InferenceModelReloadFailed@morpho:8080/': 'suppressed',
      'InferenceHighLatency@other:8080/': 'active',
      'TrainingLossExplosion@trainer:9100/r1': 'active',
      'TrainingAccuracyDrop@trainer:9100/r1': 'suppressed',
      'TrainingAccuracyDrop@trainer:9100/r2': 'active',
      'TrainingSeedDriftHigh@trainer:9100/r1': 'active',
    })

    // Every active alert reaches the webhook through the route of its severity; no
    // inhibited one ever does.
    const delivered = await waitFor(
      'the webhook to receive the active alerts',
      async () => {
        const got = new Map<string, string>()
        for (const n of received) for (const a of n.alerts) got.set(key(a.labels), n.receiver)
        return got.size >= 5 ? got : undefined
      },
      {log: am.output},
    )
    expect(Object.fromEntries(delivered)).toEqual({
      'InferenceServerDown@morpho:8080/': 'webhook-critical',
      'InferenceHighLatency@other:8080/': 'webhook-warning',
      'TrainingLossExplosion@trainer:9100/r1': 'webhook-critical',
      'TrainingAccuracyDrop@trainer:9100/r2': 'webhook-warning',
      'TrainingSeedDriftHigh@trainer:9100/r1': 'webhook-warning',
    })
    expect(received.every((n) => n.status === 'firing')).toBe(true)
  })
})
