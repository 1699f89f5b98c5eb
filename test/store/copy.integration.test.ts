import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, inject, it} from 'vitest'
import {promote, readRegistry, registerRun, rollback, setAlias} from '../../src/registry/index.js'
import {FolderStore} from '../../src/store/folder/folder-store.js'
import {PostgresStore} from '../../src/store/postgres/postgres-store.js'
import {parseJson, runCli, tempDir} from '../helpers/cli.js'
import {createDatabase, sql} from '../helpers/postgres.js'
import {makeRun, tamper} from '../helpers/runs.js'
import {expectShape} from '../helpers/shapes.js'

/** `morpho store copy`, folder → PostgreSQL → folder, through the built CLI. */
describe('store copy (built CLI)', () => {
  let tmp: {path: string; cleanup: () => Promise<void>}
  let source: FolderStore
  let url: string

  beforeAll(async () => {
    tmp = await tempDir('morpho-copy-')
    source = new FolderStore(join(tmp.path, 'source'))
    const ids: string[] = []
    for (const valAcc of [0.8, 0.85, 0.9, 0.95]) ids.push((await makeRun(source, {valAcc})).id)
    await makeRun(source, {status: 'failed'})
    for (const id of ids) await registerRun(source, id)
    await registerRun(source, ids[0]!, {model: 'other', description: 'a second model', tags: {owner: 'ana'}})
    const model = 'spirals'
    await promote(source, {model, version: 1, stage: 'Production'})
    await promote(source, {model, version: 2, stage: 'Production'})
    await promote(source, {model, version: 3, stage: 'Staging'})
    await promote(source, {model, version: 4, stage: 'Staging', archive: false})
    await setAlias(source, {model, alias: 'champion', version: 3})
    await rollback(source, {model, reason: 'latency'})
    url = await createDatabase(inject('postgresAdminUrl'), 'morpho_copy')
  })
  afterAll(() => tmp.cleanup())

  it('copies a folder into PostgreSQL and back: every run, version, stage, alias and history entry, the same bytes', async () => {
    const there = await runCli(['store', 'copy', '--from', source.home, '--to', url, '--json'])
    expect(there.code, there.stdout + there.stderr).toBe(0)
    expectShape('store copy', parseJson(there.stdout))
    expect(parseJson(there.stdout)).toEqual({
      from: source.home,
      to: url,
      runs: 5,
      models: 2,
      versions: 5,
      aliases: 1,
      history: 13,
      sweeps: 0,
    })
    const db = new PostgresStore(url)
    try {
      const original = await readRegistry(source)
      expect(await readRegistry(db)).toEqual(original)
      // Two versions in Staging (v4 came in beside v3 with --no-archive): the database allows one
      // that is not shared, and the copy gives that to the one the rules name (the latest promoted).
      expect(
        await sql(url, "SELECT version, staging_shared FROM versions WHERE stage = 'Staging' ORDER BY version"),
      ).toEqual([
        {version: 3, staging_shared: true},
        {version: 4, staging_shared: false},
      ])
      const back = join(tmp.path, 'back')
      const home = await runCli(['store', 'copy', '--from', url, '--to', back, '--json'])
      expect(home.code, home.stdout + home.stderr).toBe(0)
      const returned = new FolderStore(back)
      expect(await readRegistry(returned)).toEqual(original)
      for (const model of Object.values(original.models)) {
        for (const v of model.versions) {
          for (const file of ['manifest.json', 'model.json', 'weights.bin']) {
            expect(await readFile(join(back, v.path, file))).toEqual(await readFile(join(source.home, v.path, file)))
          }
        }
      }
      const runsThere = (await source.runs.list()).runs
      expect((await returned.runs.list()).runs).toEqual(runsThere)
      for (const run of runsThere) {
        expect(await returned.runs.details(run.id)).toEqual(await source.runs.details(run.id))
        expect(await db.runs.modelFiles(run.id)).toEqual(await source.runs.modelFiles(run.id))
      }
    } finally {
      await db.close()
    }
  })

  it('refuses a target that is not empty (exit 5) and a source whose files do not verify (exit 7), writing nothing', async () => {
    const again = await runCli(['store', 'copy', '--from', source.home, '--to', url, '--json'])
    expect(again.code).toBe(5)
    expect(parseJson<{error: {code: string; message: string}}>(again.stdout).error).toMatchObject({
      code: 'CONFLICT',
      message: expect.stringContaining('is not empty'),
    })
    await tamper(source, 'spirals', 2)
    const target = await createDatabase(inject('postgresAdminUrl'), 'morpho_copy')
    const refused = await runCli(['store', 'copy', '--from', source.home, '--to', target, '--json'])
    expect(refused.code).toBe(7)
    expect(parseJson<{error: {message: string}}>(refused.stdout).error.message).toMatch(
      /^version spirals v2 failed verification: weights\.bin sha256 mismatch/,
    )
    expect(await sql(target, 'SELECT count(*)::int AS n FROM runs')).toEqual([{n: 0}])
  })
})
