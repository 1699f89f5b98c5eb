import {type ChildProcess, execFileSync, spawn} from 'node:child_process'
import {randomBytes, randomInt} from 'node:crypto'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {BIN, runCli} from '../helpers/cli.js'
import {type Cluster, createDatabase, startCluster} from '../helpers/postgres.js'
import {seedFollowedStore} from './helpers.js'

/**
 * Several hosts for real: the database and two serving replicas each in a network namespace of
 * their own, joined by veth pairs to a bridge (the test itself talks over the bridge too). One
 * replica is cut off by bringing its link down: it keeps serving what it has, says the store is
 * down, and catches up on the promotion it missed once its link is back.
 */

const ip = (...args: string[]) => execFileSync('ip', args, {stdio: ['ignore', 'ignore', 'pipe']})

function canMakeNamespaces(): string | undefined {
  const probe = `mprobe${randomBytes(3).toString('hex')}`
  try {
    ip('netns', 'add', probe)
    ip('netns', 'del', probe)
    return undefined
  } catch (err) {
    return `network namespaces cannot be created here (${(err as Error).message.split('\n')[0]}); needs root and ip(8)`
  }
}

const cannot = canMakeNamespaces()
if (cannot) process.stderr.write(`skipping the multi-host replica test: ${cannot}\n`)

/** Runs `node -e script` inside a namespace and returns its stdout: a look from the replica's own host. */
function inside(netns: string, script: string): string {
  return execFileSync('ip', ['netns', 'exec', netns, process.execPath, '-e', script], {encoding: 'utf8'})
}

async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000) {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const value = await Promise.resolve()
      .then(check)
      .catch(() => undefined)
    if (value !== undefined) return value
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

describe.skipIf(cannot !== undefined)('replicas and the database on hosts of their own (network namespaces)', () => {
  const tag = randomBytes(2).toString('hex')
  const subnet = `10.231.${randomInt(1, 250)}`
  const bridge = `mb${tag}`
  const hosts = {db: `mdb${tag}`, a: `mra${tag}`, b: `mrb${tag}`}
  const address = {db: `${subnet}.10`, a: `${subnet}.11`, b: `${subnet}.12`}
  const link = {db: `vd${tag}`, a: `va${tag}`, b: `vb${tag}`}
  let cluster: Cluster | undefined
  let url: string
  const replicas: Record<'a' | 'b', {child: ChildProcess; port: number}> = {} as never

  beforeAll(async () => {
    ip('link', 'add', bridge, 'type', 'bridge')
    ip('addr', 'add', `${subnet}.1/24`, 'dev', bridge)
    ip('link', 'set', bridge, 'up')
    for (const host of ['db', 'a', 'b'] as const) {
      ip('netns', 'add', hosts[host])
      ip('link', 'add', link[host], 'type', 'veth', 'peer', 'name', `${link[host]}p`)
      ip('link', 'set', `${link[host]}p`, 'netns', hosts[host])
      ip('link', 'set', link[host], 'master', bridge)
      ip('link', 'set', link[host], 'up')
      ip('-n', hosts[host], 'link', 'set', 'lo', 'up')
      ip('-n', hosts[host], 'addr', 'add', `${address[host]}/24`, 'dev', `${link[host]}p`)
      ip('-n', hosts[host], 'link', 'set', `${link[host]}p`, 'up')
    }
    cluster = await startCluster({host: address.db, netns: hosts.db})
    url = await createDatabase(cluster.url())
    await seedFollowedStore(url)
    for (const host of ['a', 'b'] as const) {
      const child = spawn(
        'ip',
        [
          'netns',
          'exec',
          hosts[host],
          process.execPath,
          BIN,
          'serve',
          '--store',
          url,
          '--watch',
          '--watch-interval',
          '1',
          '--host',
          '0.0.0.0',
        ],
        {
          env: {...process.env, NODE_ENV: 'production', MORPHO_BACKEND: 'wasm', NO_COLOR: '1'},
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      )
      const port = await new Promise<number>((resolve, reject) => {
        let seen = ''
        const look = (d: Buffer) => {
          seen += d
          const m = /listening on http:\/\/[^:]+:(\d+)/.exec(seen)
          if (m) resolve(Number(m[1]))
        }
        child.stdout!.on('data', look)
        child.stderr!.on('data', look)
        child.on('exit', (code) => reject(new Error(`replica ${host} exited ${code}: ${seen}`)))
      })
      replicas[host] = {child, port}
    }
  }, 120_000)

  afterAll(async () => {
    for (const r of Object.values(replicas)) r.child.kill('SIGTERM')
    await cluster?.destroy().catch(() => undefined)
    for (const ns of Object.values(hosts)) {
      try {
        ip('netns', 'del', ns)
      } catch {
        // never made
      }
    }
    try {
      ip('link', 'del', bridge)
    } catch {
      // never made
    }
  })

  /** A replica's /health, asked from inside its own host (works with its link down too). */
  const health = (host: 'a' | 'b') =>
    JSON.parse(
      inside(
        hosts[host],
        `fetch('http://127.0.0.1:${replicas[host].port}/health').then((r) => r.text()).then((t) => process.stdout.write(t))`,
      ),
    ) as {model_version: string; store?: {up: boolean}}

  it('a replica cut off keeps serving, says so, and picks up the promotion it missed when its link is back', async () => {
    for (const host of ['a', 'b'] as const) {
      await until(`replica ${host} on v1`, () => (health(host).model_version === '1' ? true : undefined))
    }
    ip('link', 'set', link.a, 'down')
    const promoted = await runCli(['promote', 'Production', '--version', '2', '--store', url])
    expect(promoted.code, promoted.stderr).toBe(0)
    await until('replica b on v2', () => (health('b').model_version === '2' ? true : undefined))
    await until('replica a reporting its store down', () => (health('a').store?.up === false ? true : undefined))
    // Cut off, it still answers predictions with what it has.
    const answer = JSON.parse(
      inside(
        hosts.a,
        `fetch('http://127.0.0.1:${replicas.a.port}/predict', {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({data: [[0, 0, 0]]})}).then((r) => r.text()).then((t) => process.stdout.write(t))`,
      ),
    ) as {model_version: string; predictions: number[]}
    expect(answer).toMatchObject({model_version: '1', predictions: [expect.any(Number)]})

    ip('link', 'set', link.a, 'up')
    await until('replica a catching up to v2', () => (health('a').model_version === '2' ? true : undefined), 30_000)
    expect(health('a').store?.up).toBe(true)
    // And from the test's own host, over the bridge.
    const fromOutside = (await (await fetch(`http://${address.a}:${replicas.a.port}/health`)).json()) as {
      model_version: string
    }
    expect(fromOutside.model_version).toBe('2')
  })
})
