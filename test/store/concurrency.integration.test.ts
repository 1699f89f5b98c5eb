import {spawn} from 'node:child_process'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parseJson, runCli} from '../helpers/cli.js'
import {sql} from '../helpers/postgres.js'
import {makeRun} from '../helpers/runs.js'
import {openTestStore, type TestStore} from '../helpers/stores.js'

/**
 * The database store under concurrent and crashing writers, through real processes: the
 * invariants are checked in the database itself, not only through morpho's own reads.
 */
describe('a PostgreSQL store under concurrent writers', () => {
  let pg: TestStore
  beforeAll(async () => {
    pg = await openTestStore('postgres')
  })
  afterAll(() => pg.cleanup())

  it('20 `morpho register` processes at once get versions 1-20 and 20 history entries, none lost or doubled', async () => {
    const runs = await Promise.all(Array.from({length: 20}, (_, i) => makeRun(pg.store, {valAcc: 0.7 + i / 100})))
    const results = await Promise.all(runs.map((run) => runCli(['register', run.id, '--store', pg.locator, '--json'])))
    for (const res of results) expect(res.code, res.stdout + res.stderr).toBe(0)
    const versions = results.map((r) => parseJson<{version: number}>(r.stdout).version)
    expect([...versions].sort((a, b) => a - b)).toEqual(Array.from({length: 20}, (_, i) => i + 1))
    const rows = await sql<{version: number; run: string}>(
      pg.locator,
      "SELECT version, entry->>'runId' AS run FROM versions ORDER BY version",
    )
    expect(new Set(rows.map((r) => r.run))).toEqual(new Set(runs.map((r) => r.id)))
    const history = await sql<{seq: string}>(pg.locator, 'SELECT seq FROM history ORDER BY seq')
    expect(history.map((h) => Number(h.seq))).toEqual(Array.from({length: 20}, (_, i) => i + 1))
    const files = await sql<{n: number}>(pg.locator, 'SELECT count(*)::int AS n FROM version_files')
    expect(files).toEqual([{n: 60}])
  })

  it('concurrent promotions leave exactly one Production version, and the history tells how', async () => {
    const jobs = Array.from({length: 10}, (_, i) =>
      runCli(['promote', 'Production', '--version', String(i + 1), '--store', pg.locator, '--json']),
    )
    for (const res of await Promise.all(jobs)) expect(res.code, res.stdout).toBe(0)
    const holders = await sql<{version: number}>(pg.locator, "SELECT version FROM versions WHERE stage = 'Production'")
    expect(holders).toHaveLength(1)
    const transitions = await sql<{entry: {version: number; to: string; from: string}}>(
      pg.locator,
      "SELECT entry FROM history WHERE entry->>'action' = 'transition' ORDER BY seq",
    )
    const promotions = transitions.filter((t) => t.entry.to === 'Production')
    expect(promotions).toHaveLength(10)
    expect(promotions.at(-1)!.entry.version).toBe(holders[0]!.version)
    expect(transitions.filter((t) => t.entry.from === 'Production')).toHaveLength(9)
  })

  it('a writer SIGKILLed mid-transaction, 10 times at random moments, leaves nothing half-written', async () => {
    const runs = await Promise.all(Array.from({length: 60}, () => makeRun(pg.store, {valAcc: 0.8})))
    for (let round = 0; round < 10; round++) {
      const batch = runs.slice(round * 6, round * 6 + 6).map((r) => r.id)
      const writer = spawn(
        process.execPath,
        [join(import.meta.dirname, 'helpers', 'writer.mjs'), pg.locator, ...batch],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      )
      let landed = 0
      await new Promise<void>((resolve) => {
        writer.stdout.on('data', (chunk: Buffer) => {
          landed += chunk.toString().split('\n').filter(Boolean).length
          // After the first landed write the writer is busy with transactions: kill it at a random moment.
          if (landed === 1) setTimeout(() => writer.kill('SIGKILL'), Math.floor(Math.random() * 40))
        })
        writer.on('exit', () => resolve())
      })
      expect(writer.signalCode, `round ${round}`).toBe('SIGKILL')

      const [counts] = await sql<{versions: number; files: number; registers: number; seqs: number; top: string}>(
        pg.locator,
        `SELECT (SELECT count(*)::int FROM versions) AS versions,
                (SELECT count(*)::int FROM version_files) AS files,
                (SELECT count(*)::int FROM history WHERE entry->>'action' = 'register') AS registers,
                (SELECT count(*)::int FROM history) AS seqs,
                (SELECT coalesce(max(seq), 0)::text FROM history) AS top`,
      )
      expect(counts!.files, `round ${round}`).toBe(counts!.versions * 3)
      expect(counts!.registers).toBe(counts!.versions)
      expect(Number(counts!.top)).toBe(counts!.seqs)
      const production = await sql(pg.locator, "SELECT version FROM versions WHERE stage = 'Production'")
      expect(production).toHaveLength(1)
    }
    // The next command succeeds at once: no lock or half a write is left to wait for.
    const after = await makeRun(pg.store, {valAcc: 0.99})
    const res = await runCli(['register', after.id, '--store', pg.locator, '--json'])
    expect(res.code, res.stdout + res.stderr).toBe(0)
    const [{n}] = (await sql<{n: number}>(pg.locator, 'SELECT count(*)::int AS n FROM versions')) as [{n: number}]
    expect(parseJson<{version: number}>(res.stdout).version).toBe(
      Number((await sql<{m: number}>(pg.locator, 'SELECT max(version)::int AS m FROM versions'))[0]!.m),
    )
    expect(n).toBeGreaterThan(20)
  })
})
