import {readdir, stat} from 'node:fs/promises'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {parseJson, runCli, tempDir} from '../helpers/cli.js'
import {makeRun} from '../helpers/runs.js'
import {expectShape} from '../helpers/shapes.js'
import {BACKENDS, openTestStore, type TestStore} from '../helpers/stores.js'

/**
 * Run references (an id, its start, latest), `runs delete`, and a version's soft `delete`
 * followed by `gc`, through the built CLI on both store backends.
 */

interface ErrorOut {
  error: {code: string; exitCode: number; message: string; hint?: string; details?: Record<string, unknown>}
}

describe.each(BACKENDS)('run references, runs delete, delete and gc (built CLI, %s store)', (backend) => {
  let t: TestStore
  let cache: Awaited<ReturnType<typeof tempDir>>
  beforeEach(async () => {
    t = await openTestStore(backend)
    cache = await tempDir('morpho-cache-')
  })
  afterEach(async () => {
    await t.cleanup()
    await cache.cleanup()
  })

  // A database store caches version files under XDG_CACHE_HOME: a folder of the test's own.
  const cli = (...args: string[]) => runCli([...args, '--store', t.locator], {env: {XDG_CACHE_HOME: cache.path}})
  const error = (stdout: string) => parseJson<ErrorOut>(stdout).error
  // Run ids as runs list gives them (none is an empty listing, exit 0).
  const listed = async () => {
    const res = await cli('runs', 'list', '--json')
    expect(res.code).toBe(0)
    const out = parseJson<{runs: {runId: string}[]}>(res.stdout)
    expectShape('runs list', out)
    return out.runs.map((r) => r.runId).sort()
  }

  async function threeRuns() {
    const a = await makeRun(t.store, {id: 'moons-20261201-100000-aaaa01', problem: 'moons'})
    await sleep(5)
    const b = await makeRun(t.store, {id: 'moons-20261201-100000-aaab02', problem: 'moons'})
    await sleep(5)
    const c = await makeRun(t.store, {id: 'spirals-20261201-110000-cccc03'})
    return {a, b, c}
  }

  it('takes latest and a unique start of a run id; a start several ids share is exit 2 naming them', async () => {
    const {a, b} = await threeRuns()
    const shown = await cli('runs', 'show', 'moons-20261201-100000-aaab', '--json')
    expect(shown.code, shown.stdout).toBe(0)
    expect(parseJson<{run: {runId: string}}>(shown.stdout).run.runId).toBe(b.id)
    expect((await cli('runs', 'show', 'moons-2026', '--json')).code).toBe(2)

    // runs list filters, and --limit keeps the newest while total counts every match.
    const moons = await cli('runs', 'list', '--problem', 'moons', '--limit', '1', '--json')
    expect(moons.code, moons.stdout).toBe(0)
    const listing = parseJson<{runs: {runId: string}[]; total: number; skipped: unknown[]}>(moons.stdout)
    expect({ids: listing.runs.map((r) => r.runId), total: listing.total}).toEqual({ids: [b.id], total: 2})
    const all = parseJson<{runs: {runId: string}[]}>((await cli('runs', 'list', '--problem', 'moons', '--json')).stdout)
    expect(all.runs.map((r) => r.runId)).toEqual([b.id, a.id])
    const failed = await cli('runs', 'list', '--status', 'failed', '--json')
    expect(failed.code).toBe(0)
    expect(parseJson(failed.stdout)).toEqual({runs: [], total: 0, skipped: []})
    expect((await cli('runs', 'list', '--status', 'done', '--json')).code).toBe(2)
    const latest = await cli('register', 'latest', '--json')
    expect(latest.code, latest.stdout).toBe(0)
    expect(parseJson<{entry: {runId: string}}>(latest.stdout).entry.runId).toBe('spirals-20261201-110000-cccc03')

    const prefix = await cli('register', 'moons-20261201-100000-aaab', '--json')
    expect(prefix.code, prefix.stdout).toBe(0)
    expect(parseJson<{model: string; entry: {runId: string}}>(prefix.stdout)).toMatchObject({
      model: 'moons',
      entry: {runId: 'moons-20261201-100000-aaab02'},
    })

    // export takes a run the same way (its own saved model).
    const out = join(t.home, 'run.onnx')
    const exported = await cli('export', 'moons-20261201-100000-aaaa', '--format', 'onnx', '--out', out, '--json')
    expect(exported.code, exported.stdout).toBe(0)
    expect(parseJson(exported.stdout)).toMatchObject({source: 'run', runId: 'moons-20261201-100000-aaaa01', out})
    expect((await cli('export', 'moons-2026', '--format', 'onnx', '--out', out, '--json')).code).toBe(2)

    const ambiguous = await cli('register', 'moons-2026', '--json')
    expect(ambiguous.code).toBe(2)
    expect(error(ambiguous.stdout)).toEqual({
      code: 'USAGE',
      exitCode: 2,
      message: '"moons-2026" is the start of 2 run ids',
      hint: 'Give more of it: moons-20261201-100000-aaab02, moons-20261201-100000-aaaa01.',
      details: {ref: 'moons-2026', candidates: ['moons-20261201-100000-aaab02', 'moons-20261201-100000-aaaa01']},
    })

    const unknown = await cli('register', 'circles', '--json')
    expect(unknown.code).toBe(4)
    expect(error(unknown.stdout)).toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringMatching(/^run "circles" not found in /),
    })
  })

  it('says there is no latest run in an empty store (exit 4)', async () => {
    const res = await cli('register', 'latest', '--json')
    expect(res.code).toBe(4)
    expect(error(res.stdout)).toMatchObject({code: 'NOT_FOUND', message: 'there are no runs yet, so no latest one'})
  })

  it('deletes runs by reference, refusing (and deleting none) while a registered version came from one', async () => {
    const {a, b, c} = await threeRuns()
    expect((await cli('register', c.id)).code).toBe(0)

    const refused = await cli('runs', 'delete', 'moons-20261201-100000-aaaa', 'spirals-2026', '--json')
    expect(refused.code).toBe(5)
    expect(error(refused.stdout)).toMatchObject({
      code: 'CONFLICT',
      message: `run ${c.id} is where spirals v1 (None) came from; refusing to delete it`,
      details: {runId: c.id, versions: [{model: 'spirals', version: 1, stage: 'None'}]},
    })
    expect(await listed()).toEqual([a.id, b.id, c.id])

    const deleted = await cli('runs', 'delete', 'moons-20261201-100000-aaaa', b.id, '--json')
    expect(deleted.code, deleted.stdout).toBe(0)
    expectShape('runs delete', parseJson(deleted.stdout))
    expect(parseJson(deleted.stdout)).toEqual({
      deleted: [
        {runId: a.id, versions: []},
        {runId: b.id, versions: []},
      ],
    })
    expect(await listed()).toEqual([c.id])
    expect((await cli('runs', 'show', a.id, '--json')).code).toBe(4)

    const forced = await cli('runs', 'delete', 'latest', '--force', '--json')
    expect(forced.code, forced.stdout).toBe(0)
    expect(parseJson(forced.stdout)).toEqual({
      deleted: [{runId: c.id, versions: [{model: 'spirals', version: 1, stage: 'None'}]}],
    })
    expect(await listed()).toEqual([])
    // The version keeps its own files: it still resolves and verifies.
    expect((await cli('promote', 'Production', '--version', '1', '--json')).code).toBe(0)
    expect((await cli('runs', 'delete', 'latest', '--json')).code).toBe(4)
  })

  it('deletes a version softly: the history records it, its aliases go, its number is never reused, gc removes the files', async () => {
    const runs = [await makeRun(t.store), await makeRun(t.store), await makeRun(t.store)]
    for (const r of runs) expect((await cli('register', r.id)).code).toBe(0)
    expect((await cli('promote', 'Production', '--version', '1')).code).toBe(0)
    expect((await cli('promote', 'Production', '--version', '2')).code).toBe(0)
    expect((await cli('alias', 'set', 'champion', '2')).code).toBe(0)

    const refused = await cli('delete', 'spirals', '--version', '2', '--json')
    expect(refused.code).toBe(5)
    expect(error(refused.stdout)).toMatchObject({
      code: 'CONFLICT',
      message: 'spirals v2 is in Production; refusing to delete it',
      details: {model: 'spirals', version: 2, stage: 'Production'},
    })
    const missing = await cli('delete', 'spirals', '--version', '9', '--json')
    expect(missing.code).toBe(4)

    // `production` writes a database store's version into this machine's cache.
    expect((await cli('production', '--json')).code).toBe(0)
    const deleted = await cli('delete', '--version', '2', '--force', '--reason', 'wrong data', '--json')
    expect(deleted.code, deleted.stdout).toBe(0)
    expectShape('delete', parseJson(deleted.stdout))
    expect(parseJson(deleted.stdout)).toEqual({
      model: 'spirals',
      version: 2,
      stage: 'Production',
      runId: runs[1]!.id,
      aliases: ['champion'],
      filesKept: backend === 'folder',
    })

    const list = parseJson<{versions: {version: number; aliases: string[]}[]}>((await cli('list', '--json')).stdout)
    expect(list.versions.map((v) => v.version).sort()).toEqual([1, 3])
    const historyJson = parseJson<{
      entries: {action: string; version: number; from: unknown; to: unknown; alias?: string; reason: string}[]
    }>((await cli('history', '--json')).stdout)
    // A delete entry is a history entry like any other.
    expectShape('history', historyJson)
    const history = historyJson.entries
    expect(
      history
        .slice(0, 2)
        .reverse()
        .map(({action, version, from, to, alias, reason}) => ({action, version, from, to, alias, reason})),
    ).toEqual([
      {
        action: 'alias_delete',
        version: 2,
        from: 2,
        to: null,
        alias: 'champion',
        reason: 'alias champion deleted with v2',
      },
      {action: 'delete', version: 2, from: 'Production', to: null, alias: undefined, reason: 'wrong data'},
    ])
    expect((await cli('production', '--json')).code).toBe(4)

    // Rollback passes over the deleted version to v1; the next registration is v4, not v2.
    const back = await cli('rollback', '--json')
    expect(back.code, back.stdout).toBe(0)
    expect(parseJson<{version: number}>(back.stdout).version).toBe(1)
    const again = await cli('register', runs[1]!.id, '--json')
    expect(parseJson<{version: number}>(again.stdout).version).toBe(4)

    // gc: what is left of v2 on this machine (the version folder, or the database's cached copy).
    const where = backend === 'folder' ? join(t.home, 'models', 'spirals') : await cacheModels(cache.path)
    expect(await readdir(where)).toContain('2')
    const dry = await cli('gc', '--dry-run', '--json')
    expect(dry.code, dry.stdout).toBe(0)
    const planned = parseJson<{
      removed: {model: string; version: number; path: string; bytes: number}[]
      bytes: number
      dryRun: boolean
    }>(dry.stdout)
    expect(planned).toMatchObject({dryRun: true, removed: [{model: 'spirals', version: 2, path: join(where, '2')}]})
    expect(planned.bytes).toBe(planned.removed[0]!.bytes)
    expect(planned.bytes).toBeGreaterThan(0)
    expect(await readdir(where)).toContain('2')

    const gc = await cli('gc', '--json')
    expectShape('gc', parseJson(gc.stdout))
    expect(parseJson(gc.stdout)).toEqual({...planned, dryRun: false})
    expect(await readdir(where)).not.toContain('2')
    expect(parseJson((await cli('gc', '--json')).stdout)).toEqual({removed: [], bytes: 0, dryRun: false})
    // What stays is whole: v1 in Production still verifies.
    expect((await cli('production', '--json')).code).toBe(0)
  })
})

/** The one store's models folder in a database store's cache. */
async function cacheModels(cache: string): Promise<string> {
  const stores = join(cache, 'morpho', 'stores')
  const [hash] = await readdir(stores)
  const dir = join(stores, hash!, 'models', 'spirals')
  await stat(dir)
  return dir
}
