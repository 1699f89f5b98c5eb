import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {type CliResult, parseJson, runCli} from '../helpers/cli.js'
import {sql} from '../helpers/postgres.js'
import {expectShape} from '../helpers/shapes.js'
import {openTestStore, type TestStore} from '../helpers/stores.js'

/**
 * A sweep spread over machines: shards of one grid against one PostgreSQL store, as a
 * Kubernetes Indexed Job or a CI matrix would run them, then reported and registered once.
 */

// Training flags given to `sweep` itself: fixed values for every run (issue 13 item 6).
const FIXED = ['--problem', 'moons', '--samples', '160', '--hidden-dim', '8', '--num-layers', '1']
const FAST = ['--warm-up-epochs', '2', '--adaptation-epochs', '2', '--batch-size', '32']
const GRID = ['--param', 'lr=0.003,0.01', '--param', 'seed=1,2,3']

interface Report {
  id: string
  total: number
  done: number
  complete: boolean
  missing: number[]
  runs: {index: number; runId: string; shard?: string; params: Record<string, unknown>; value: number}[]
  best: {runId: string}
  registered?: {model: string; version: number; runId: string}
}

describe('sharded sweeps (built CLI, PostgreSQL store)', () => {
  let pg: TestStore
  beforeAll(async () => {
    pg = await openTestStore('postgres')
  })
  afterAll(() => pg.cleanup())

  it('runs each shard’s share of the grid, ranks every shard’s runs, and registers the best exactly once', async () => {
    const shard = (extra: string[], env?: Record<string, string>) =>
      runCli(
        [
          'sweep',
          ...FIXED,
          ...FAST,
          ...GRID,
          '--register-best',
          '--model',
          'grid',
          ...extra,
          '--json',
          '--store',
          pg.locator,
        ],
        {env},
      )
    // Shard 0 of 3 by flag; shards 1 and 2 by Kubernetes' JOB_COMPLETION_INDEX, all at once.
    const results: CliResult[] = await Promise.all([
      shard(['--shard', '0/3']),
      shard(['--shards', '3'], {JOB_COMPLETION_INDEX: '1'}),
      shard(['--shards', '3'], {JOB_COMPLETION_INDEX: '2'}),
    ])
    for (const res of results) expect(res.code, res.stderr).toBe(0)
    const outs = results.map((r) => parseJson<Report & {shard: {index: number; count: number; ran: number}}>(r.stdout))
    expect(new Set(outs.map((o) => o.id)).size).toBe(1)
    expect(outs.map((o) => o.shard)).toEqual([
      {index: 0, count: 3, ran: 2},
      {index: 1, count: 3, ran: 2},
      {index: 2, count: 3, ran: 2},
    ])
    const id = outs[0]!.id

    const report = parseJson<Report>((await runCli(['sweep', 'report', id, '--json', '--store', pg.locator])).stdout)
    expectShape('sweep report', report)
    for (const out of outs) expectShape('sweep', out)
    expect(report).toMatchObject({id, total: 6, done: 6, complete: true, missing: []})
    expect(report.runs.map((r) => r.index).sort()).toEqual([0, 1, 2, 3, 4, 5])
    for (const r of report.runs) expect(r.shard).toBe(`${r.index % 3}/3`)
    const values = report.runs.map((r) => r.value)
    expect(values).toEqual([...values].sort((a, b) => b - a))
    expect(report.registered).toEqual({model: 'grid', version: 1, runId: report.best.runId})

    // One registration in the store's own history, tagged with the sweep.
    const registrations = await sql<{entry: {action: string; version: number}}>(
      pg.locator,
      "SELECT entry FROM history WHERE entry->>'action' = 'register'",
    )
    expect(registrations.map((r) => r.entry.version)).toEqual([1])
    const [version] = await sql<{entry: {tags: Record<string, string>}}>(pg.locator, 'SELECT entry FROM versions')
    expect(version!.entry.tags).toEqual({sweep: id})

    // The fixed training flags reached every run.
    const {runs} = await pg.store.runs.list()
    expect(runs).toHaveLength(6)
    for (const r of runs) expect(r).toMatchObject({problem: 'moons', params: {hiddenDim: 8, numLayers: 1}})

    const list = parseJson<{sweeps: {id: string; done: number; total: number; complete: boolean}[]}>(
      (await runCli(['sweeps', 'list', '--json', '--store', pg.locator])).stdout,
    )
    expectShape('sweeps list', list)
    expectShape(
      'sweeps show',
      parseJson((await runCli(['sweeps', 'show', id, '--json', '--store', pg.locator])).stdout),
    )
    expect(list.sweeps).toEqual([expect.objectContaining({id, done: 6, total: 6, complete: true})])
    const shown = await runCli(['sweeps', 'show', id, '--store', pg.locator])
    expect(shown.code).toBe(0)
    expect(shown.stdout).toContain(`${id}  grid lr=0.003,0.01 seed=1,2,3  (6 combinations)`)
  })

  it('says what is missing while shards are still to run, and refuses a bad shard', async () => {
    const half = await runCli([
      'sweep',
      ...FIXED,
      ...FAST,
      '--param',
      'lr=0.002,0.004',
      '--shard',
      '1/2',
      '--register-best',
      '--json',
      '--store',
      pg.locator,
    ])
    expect(half.code, half.stderr).toBe(0)
    const out = parseJson<Report>(half.stdout)
    expect(out).toMatchObject({total: 2, done: 1, complete: false, missing: [0]})
    expect(out.registered).toBeUndefined()
    expect((await runCli(['sweep', 'report', out.id, '--json', '--store', pg.locator])).code).toBe(0)
    expect((await runCli(['sweep', 'report', 'sweep-nope', '--json', '--store', pg.locator])).code).toBe(4)
    const bad = await runCli(['sweep', ...FIXED, '--param', 'lr=0.1,0.2', '--shard', '2/2', '--json'])
    expect(bad.code).toBe(2)
    expect(parseJson<{error: {message: string}}>(bad.stdout).error.message).toBe('Invalid --shard "2/2"')
    const noIndex = await runCli(['sweep', ...FIXED, '--param', 'lr=0.1,0.2', '--shards', '2', '--json'], {
      env: {JOB_COMPLETION_INDEX: undefined},
    })
    expect(noIndex.code).toBe(2)
  })
})
