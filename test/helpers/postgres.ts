import {execFile, spawnSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {appendFile, chmod, chown, mkdtemp, readdir, readFile, readlink, rm} from 'node:fs/promises'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'
import pg from 'pg'

/**
 * A throwaway PostgreSQL cluster for the tests (Debian's `postgresql`): initdb in a temp
 * folder with trust authentication (any password is accepted, which lets tests check that a
 * password never leaks), pg_ctl on a free loopback port. As root, the server runs as the
 * `postgres` user, which initdb requires. One cluster serves the whole run (test/global-setup.ts);
 * each test file makes its own database in it.
 */

const run = promisify(execFile)

export interface Cluster {
  host: string
  port: number
  dir: string
  /** postgres://postgres@host:port/<db> */
  url(db?: string): string
  start(): Promise<void>
  /** A clean stop. */
  stop(): Promise<void>
  /** SIGKILL of the postmaster, as a crash or a pulled plug would leave it. */
  kill(): Promise<void>
  /** Stops and removes the folder. */
  destroy(): Promise<void>
}

export function postgresBin(): string {
  const root = '/usr/lib/postgresql'
  const versions = spawnSync('ls', [root], {encoding: 'utf8'}).stdout.split('\n').filter(Boolean)
  const latest = versions.sort((a, b) => Number(b) - Number(a))[0]
  if (!latest) {
    throw new Error(
      `PostgreSQL is not installed (no ${root}/<version>/bin): install Debian's postgresql package (.ci/run does)`,
    )
  }
  return join(root, latest, 'bin')
}

const asRoot = process.getuid?.() === 0

/** Runs a PostgreSQL program, as the postgres user when we are root, inside a network namespace if given. */
async function pgRun(bin: string, args: string[], netns?: string): Promise<void> {
  const command = asRoot ? ['runuser', '-u', 'postgres', '--', bin, ...args] : [bin, ...args]
  const wrapped = netns ? ['ip', 'netns', 'exec', netns, ...command] : command
  await run(wrapped[0]!, wrapped.slice(1))
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, host, () => {
      const {port} = server.address() as {port: number}
      server.close(() => resolve(port))
    })
  })
}

/** `netns`: run the server inside that network namespace (a database on a host of its own). */
export async function startCluster(options: {host?: string; port?: number; netns?: string} = {}): Promise<Cluster> {
  const bin = postgresBin()
  const host = options.host ?? '127.0.0.1'
  const port = options.port ?? (options.netns ? 5432 : await freePort(host))
  const dir = await mkdtemp(join(tmpdir(), 'morpho-pg-'))
  await chmod(dir, 0o700)
  if (asRoot) {
    const id = spawnSync('id', ['-u', 'postgres'], {encoding: 'utf8'})
    const gid = spawnSync('id', ['-g', 'postgres'], {encoding: 'utf8'})
    await chown(dir, Number(id.stdout), Number(gid.stdout))
  }
  const data = join(dir, 'data')
  await pgRun(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync'])
  // initdb trusts loopback only; a database on a host of its own takes its test network too.
  if (host !== '127.0.0.1') await appendFile(join(data, 'pg_hba.conf'), 'host all all 0.0.0.0/0 trust\n')
  const opts = `-p ${port} -k ${dir} -c listen_addresses=${host} -c fsync=off -c max_connections=200`
  const cluster: Cluster = {
    host,
    port,
    dir,
    url: (db = 'postgres') => `postgres://postgres@${host}:${port}/${db}`,
    start: () =>
      pgRun(join(bin, 'pg_ctl'), ['-D', data, '-o', opts, '-l', join(dir, 'log'), '-w', 'start'], options.netns),
    stop: () => pgRun(join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop'], options.netns),
    async kill() {
      const pidFile = join(data, 'postmaster.pid')
      const pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0])
      process.kill(pid, 'SIGKILL')
      // The postmaster's children notice it is gone and exit; wait until none answers.
      for (let i = 0; i < 100; i++) {
        try {
          process.kill(pid, 0)
        } catch {
          break
        }
        await new Promise((r) => setTimeout(r, 20))
      }
      await killOrphans(data)
    },
    async destroy() {
      await cluster.stop().catch(() => cluster.kill().catch(() => undefined))
      await rm(dir, {recursive: true, force: true})
    },
  }
  await cluster.start()
  return cluster
}

/** Backends left running after their postmaster was killed (their working folder is the data folder). */
async function killOrphans(data: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const mine: number[] = []
    for (const name of await readdir('/proc')) {
      if (!/^\d+$/.test(name)) continue
      const cwd = await readlink(`/proc/${name}/cwd`).catch(() => '')
      if (cwd === data) mine.push(Number(name))
    }
    if (mine.length === 0) return
    for (const pid of mine) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // gone already
      }
    }
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** A fresh, empty database in the cluster; returns its URL. */
export async function createDatabase(adminUrl: string, prefix = 'morpho'): Promise<string> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`
  const client = new pg.Client({connectionString: adminUrl})
  await client.connect()
  try {
    await client.query(`CREATE DATABASE ${name}`)
  } finally {
    await client.end()
  }
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return url.toString()
}

/** One query on a fresh connection, for tests that look at or damage the database directly. */
export async function sql<T extends pg.QueryResultRow = pg.QueryResultRow>(
  url: string,
  text: string,
  values: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({connectionString: url})
  await client.connect()
  try {
    return (await client.query<T>(text, values)).rows
  } finally {
    await client.end()
  }
}
