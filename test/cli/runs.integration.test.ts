import {mkdir, readFile, rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parseJson, runCli, tempDir} from '../helpers/cli.js'
import {makeRun} from '../helpers/runs.js'
import {expectShape} from '../helpers/shapes.js'

/** `morpho runs list|show --json` through the built CLI: the shapes, empty listings, lookups. */

interface Listing {
  runs: {runId: string; problem: string; status: string; versions: unknown[]}[]
  total: number
  skipped: {runId: string; error: string}[]
}

describe('morpho runs (built CLI)', () => {
  let tmp: {path: string; cleanup: () => Promise<void>}
  let home: string
  const morpho = (...args: string[]) => runCli([...args, '--home', home])
  // Oldest first: their ids say when they were created, and so does their record.
  const ids = ['moons-20261129-090000-aaaaaa', 'moons-20261129-100000-bbbbbb', 'spirals-20261129-110000-cccccc']

  beforeAll(async () => {
    tmp = await tempDir('morpho-runs-')
    home = join(tmp.path, 'store')
    for (const [i, id] of ids.entries()) {
      await makeRun(home, {id, problem: id.split('-')[0]!, status: i === 1 ? 'failed' : 'completed'})
      const file = join(home, 'runs', id, 'run.json')
      const record = JSON.parse(await readFile(file, 'utf8'))
      record.createdAt = `2026-11-29T${String(9 + i).padStart(2, '0')}:00:00.000Z`
      await writeFile(file, JSON.stringify(record))
    }
  })
  afterAll(() => tmp.cleanup())

  it('lists newest first as {runs, total, skipped}, each run keyed runId, a damaged record in skipped', async () => {
    const all = await morpho('runs', 'list', '--json')
    expect(all.code).toBe(0)
    const listing = parseJson<Listing>(all.stdout)
    expectShape('runs list', listing)
    expect(listing.runs.map((r) => r.runId)).toEqual([...ids].reverse())
    expect(listing).toMatchObject({total: 3, skipped: []})

    const broken = join(home, 'runs', 'moons-20261129-120000-dddddd')
    await mkdir(broken, {recursive: true})
    await writeFile(join(broken, 'run.json'), '{')
    try {
      const res = await morpho('runs', 'list', '--json')
      expect(res.code).toBe(0)
      const withBroken = parseJson<Listing>(res.stdout)
      expectShape('runs list', withBroken)
      expect(withBroken.runs.map((r) => r.runId)).toEqual([...ids].reverse())
      expect(withBroken.skipped).toEqual([{runId: 'moons-20261129-120000-dddddd', error: expect.any(String)}])
    } finally {
      await rm(broken, {recursive: true})
    }
  })

  it('shows one run as {run, metrics, events}, the same run as the listing has', async () => {
    const res = await morpho('runs', 'show', ids[2]!, '--json')
    expect(res.code).toBe(0)
    const shown = parseJson<{run: Listing['runs'][number]; metrics: {epoch: number}[]}>(res.stdout)
    expectShape('runs show', shown)
    const listed = parseJson<Listing>((await morpho('runs', 'list', '--json')).stdout).runs.find(
      (r) => r.runId === ids[2],
    )
    expect(shown.run).toEqual(listed)
    expect(shown.metrics.map((m) => m.epoch)).toEqual([1, 2, 3, 4])
  })

  it('an empty store is an empty listing (exit 0); a run it does not have is not found (exit 4)', async () => {
    const empty = join(tmp.path, 'empty')
    const list = await runCli(['runs', 'list', '--json', '--home', empty])
    expect(list.code).toBe(0)
    expect(parseJson(list.stdout)).toEqual({runs: [], total: 0, skipped: []})
    const human = await runCli(['runs', 'list', '--home', empty])
    expect(human.code).toBe(0)
    expect(human.stdout).toBe('No runs yet. Train one with morpho train.\n')

    const missing = await morpho('runs', 'show', 'moons-20261129-130000-eeeeee', '--json')
    expect(missing.code).toBe(4)
    expect(parseJson<{error: {code: string; exitCode: number}}>(missing.stdout).error).toMatchObject({
      code: 'NOT_FOUND',
      exitCode: 4,
    })
  })
})
