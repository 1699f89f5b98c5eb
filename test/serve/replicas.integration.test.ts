import type {ChildProcess} from 'node:child_process'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {runCli} from '../helpers/cli.js'
import {type Cluster, createDatabase, startCluster} from '../helpers/postgres.js'
import {startServeProcess} from '../helpers/serve-process.js'
import {seedFollowedStore} from './helpers.js'

/**
 * Serving replicas following one PostgreSQL store (`serve --store postgres://… --watch`),
 * under continuous load: a promotion reaches every replica, a database killed under them costs
 * no prediction, and once it is back they follow again and catch up.
 */

interface Replica {
  child: ChildProcess
  url: string
  /** Every /predict answer: when, which version, or the failure. */
  answers: {at: number; version?: string; error?: string}[]
}

const ROWS = {data: [[0.1, -0.2, 0.3]]}

async function startReplica(url: string): Promise<Replica> {
  const serving = await startServeProcess([
    '--store',
    url,
    '--watch',
    '--watch-interval',
    '1',
    '--port',
    '0',
    '--no-ui',
  ])
  return {...serving, answers: []}
}

/** Posts /predict in a loop until stopped (bounded: at most `limit` requests). */
function load(replica: Replica, limit = 4000): {stop(): Promise<void>} {
  let stopped = false
  const done = (async () => {
    for (let i = 0; i < limit && !stopped; i++) {
      const at = performance.now()
      try {
        const res = await fetch(`${replica.url}/predict`, {
          method: 'POST',
          headers: {'content-type': 'application/json'},
          body: JSON.stringify(ROWS),
        })
        const body = (await res.json()) as {model_version?: string; error?: string}
        replica.answers.push(res.ok ? {at, version: body.model_version} : {at, error: `${res.status} ${body.error}`})
      } catch (err) {
        replica.answers.push({at, error: (err as Error).message})
      }
      await new Promise((r) => setTimeout(r, 10))
    }
  })()
  return {
    async stop() {
      stopped = true
      await done
    },
  }
}

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const value = await check().catch(() => undefined)
    if (value !== undefined) return value
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

const health = async (r: Replica) =>
  (await (await fetch(`${r.url}/health`)).json()) as {model_version: string; store?: {up: boolean}}
const storeUpMetric = async (r: Replica) =>
  /^morpho_store_up (\d)$/m.exec(await (await fetch(`${r.url}/metrics`)).text())?.[1]

describe('serving replicas following a PostgreSQL store', () => {
  let cluster: Cluster
  let url: string
  const replicas: Replica[] = []

  beforeAll(async () => {
    cluster = await startCluster()
    url = await createDatabase(cluster.url())
    await seedFollowedStore(url)
    for (let i = 0; i < 3; i++) replicas.push(await startReplica(url))
  }, 120_000)

  afterAll(async () => {
    for (const r of replicas) r.child.kill('SIGTERM')
    await cluster?.destroy()
  })

  it('a promotion reaches every replica within a second, with no failed request', async () => {
    const loads = replicas.map((r) => load(r))
    await until('load on every replica', async () => (replicas.every((r) => r.answers.length > 5) ? true : undefined))
    const promoted = await runCli(['promote', 'Production', '--version', '2', '--store', url])
    expect(promoted.code, promoted.stderr).toBe(0)
    const at = performance.now()
    const firsts = await Promise.all(
      replicas.map((r) =>
        until('v2 on a replica', async () => r.answers.find((a) => a.at >= at && a.version === '2')?.at),
      ),
    )
    await new Promise((r) => setTimeout(r, 200))
    for (const l of loads) await l.stop()
    const follow = firsts.map((t) => t - at)
    process.stderr.write(
      `replica follow times after promote: ${follow.map((ms) => `${Math.round(ms)} ms`).join(', ')}\n`,
    )
    for (const ms of follow) expect(ms).toBeLessThan(1000)
    for (const r of replicas) expect(r.answers.filter((a) => a.error)).toEqual([])
  })

  it('keeps answering with the database killed, says so, and follows again once it is back', async () => {
    for (const r of replicas) r.answers.length = 0
    const loads = replicas.map((r) => load(r))
    await cluster.kill()
    for (const r of replicas) {
      await until('the store reported down', async () => ((await health(r)).store?.up === false ? true : undefined))
      expect(await storeUpMetric(r)).toBe('0')
    }
    await new Promise((r) => setTimeout(r, 500))
    // Back, and a promotion made before the replicas have reconnected (they back off meanwhile).
    await cluster.start()
    const promoted = await runCli(['promote', 'Production', '--version', '3', '--store', url])
    expect(promoted.code, promoted.stderr).toBe(0)
    for (const r of replicas) {
      await until('v3 after the restart', async () => ((await health(r)).model_version === '3' ? true : undefined))
      await until('the store reported up', async () => ((await health(r)).store?.up === true ? true : undefined))
      expect(await storeUpMetric(r)).toBe('1')
    }
    for (const l of loads) await l.stop()
    for (const r of replicas) {
      expect(r.answers.filter((a) => a.error)).toEqual([])
      expect(r.answers.length).toBeGreaterThan(10)
    }
  })
})
