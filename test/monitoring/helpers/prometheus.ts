import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {stringify} from 'yaml'
import {MONITORING, readYaml} from './monitoring-files.js'
import {type Daemon, freePort, startDaemon, waitFor} from './processes.js'

/**
 * A real Prometheus (Debian's package) on loopback, configured from monitoring/prometheus.yml:
 * the same jobs, paths and rule files, with the targets pointed at local processes and the
 * intervals shortened to a second so a test sees scrapes and rule evaluations quickly.
 */

interface ScrapeConfig {
  job_name: string
  scrape_interval?: string
  static_configs: {targets: string[]}[]
  [key: string]: unknown
}

export interface RunningPrometheus {
  url: string
  /** An instant query; returns the result vector. */
  query(expr: string): Promise<{metric: Record<string, string>; value: [number, string]}[]>
  /** GET on the HTTP API (path under /api/v1), returning `data`. */
  api<T>(path: string): Promise<T>
  output(): string
  stop(): Promise<void>
}

/** targets: job name -> host:port list. Jobs of the file without targets here are left out. */
export async function startPrometheus(targets: Record<string, string[]>): Promise<RunningPrometheus> {
  const source = readYaml<{
    global: Record<string, unknown>
    rule_files: string[]
    scrape_configs: ScrapeConfig[]
  }>('prometheus.yml')
  const config = {
    global: {...source.global, scrape_interval: '1s', evaluation_interval: '1s'},
    rule_files: source.rule_files.map((f) => join(MONITORING, f)),
    scrape_configs: source.scrape_configs
      .filter((c) => targets[c.job_name])
      .map((c) => ({...c, scrape_interval: '1s', static_configs: [{targets: targets[c.job_name]}]})),
  }
  for (const job of Object.keys(targets)) {
    if (!config.scrape_configs.some((c) => c.job_name === job)) throw new Error(`prometheus.yml has no job ${job}`)
  }

  const dir = await mkdtemp(join(tmpdir(), 'morpho-prometheus-'))
  const file = join(dir, 'prometheus.yml')
  await writeFile(file, stringify(config))
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  let daemon: Daemon | undefined
  try {
    daemon = startDaemon('prometheus', [
      `--config.file=${file}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ])
    const d = daemon
    await waitFor('Prometheus to be ready', async () => ((await fetch(`${url}/-/ready`)).ok ? true : undefined), {
      log: d.output,
    })
  } catch (err) {
    await daemon?.stop()
    await rm(dir, {recursive: true, force: true})
    throw err
  }
  const running = daemon

  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${url}/api/v1/${path}`)
    const body = (await res.json()) as {status: string; data: T; error?: string}
    if (body.status !== 'success') throw new Error(`Prometheus API ${path}: ${body.error}`)
    return body.data
  }
  return {
    url,
    api,
    query: async (expr) =>
      (
        await api<{result: {metric: Record<string, string>; value: [number, string]}[]}>(
          `query?query=${encodeURIComponent(expr)}`,
        )
      ).result,
    output: running.output,
    stop: async () => {
      await running.stop()
      await rm(dir, {recursive: true, force: true})
    },
  }
}

/**
 * Polls until every name has at least one series under the job, or the deadline passes, and
 * returns the names still missing: [] once all have arrived, else what to put in a failure.
 */
export async function missingNames(
  prometheus: RunningPrometheus,
  job: string,
  names: readonly string[],
  timeoutMs = 20_000,
): Promise<string[]> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const got = await prometheus.query(`count by (__name__) ({job="${job}"})`)
    const present = new Set(got.map((s) => s.metric.__name__))
    const missing = names.filter((n) => !present.has(n))
    if (missing.length === 0 || Date.now() > deadline) return missing
    await new Promise((r) => setTimeout(r, 250))
  }
}

export {waitFor}
