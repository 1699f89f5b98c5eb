import {readdir} from 'node:fs/promises'
import {afterAll, beforeAll, describe, expect, inject, it} from 'vitest'
import {type CliResult, parseJson, runCli, tempDir} from '../helpers/cli.js'
import {createDatabase, sql} from '../helpers/postgres.js'
import {makeRun} from '../helpers/runs.js'
import {expectShape} from '../helpers/shapes.js'
import {openTestStore, type TestStore} from '../helpers/stores.js'

/**
 * The team store through the built CLI: the same commands, the same answers and exit codes as
 * a folder store, a schema that is created, versioned and refused when newer, and a password
 * that appears nowhere.
 */

const TINY = ['--samples', '160', '--hidden-dim', '8', '--num-layers', '1', '--warm-up-epochs', '2']
const TINY_ADAPT = ['--adaptation-epochs', '2', '--batch-size', '32', '--seed', '3']

/** Every `dir` value in a JSON answer, wherever it is nested. */
function dirsOf(value: unknown): unknown[] {
  if (Array.isArray(value)) return value.flatMap(dirsOf)
  if (value === null || typeof value !== 'object') return []
  return Object.entries(value).flatMap(([k, v]) => (k === 'dir' ? [v] : dirsOf(v)))
}

/** What differs between two stores by nature: times, ids, folders, actors. */
function normalise(value: unknown): unknown {
  const text = JSON.stringify(value)
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, 'TIME')
    .replace(/"dir":("[^"]*"|null)/g, '"dir":"DIR"')
    // Where a run is: a folder, or "run <id> in <database>".
    .replace(/"location":"[^"]*"/g, '"location":"LOCATION"')
    .replace(/"pid":\d+/g, '"pid":0')
    // A forward pass takes the time it takes.
    .replace(/"inferenceTimeMs":[0-9.e+-]+/g, '"inferenceTimeMs":0')
    // The manifest records when the version was registered.
    .replace(/"manifestSha256":"[0-9a-f]{64}"/g, '"manifestSha256":"SHA"')
  return JSON.parse(text)
}

describe('a PostgreSQL store (built CLI)', () => {
  let pgStore: TestStore
  let folder: {path: string; cleanup: () => Promise<void>}
  const runIds: string[] = []

  beforeAll(async () => {
    pgStore = await openTestStore('postgres')
    folder = await tempDir('morpho-pg-compare-')
    // The same runs, by id, in both stores.
    for (const valAcc of [0.82, 0.95, 0.91]) {
      const run = await makeRun(folder.path, {valAcc})
      await makeRun(pgStore.store, {valAcc, id: run.id})
      runIds.push(run.id)
    }
  })
  afterAll(async () => {
    await pgStore.cleanup()
    await folder.cleanup()
  })

  it('answers every registry command as a folder store does, output and exit codes', async () => {
    const script: string[][] = [
      ['register', runIds[0]!, '--tag', 'owner=ana'],
      ['register', runIds[1]!],
      ['register', runIds[2]!, '--model', 'other'],
      ['promote', 'Production', '--version', '1', '--model', 'spirals'],
      ['promote', 'Staging', '--model', 'spirals'],
      ['promote', 'Production', '--version', '2', '--model', 'spirals', '--reason', 'better'],
      ['alias', 'set', 'champion', '2', '--model', 'spirals'],
      ['list'],
      ['list', '--stage', 'Production'],
      ['best', '--model', 'spirals'],
      ['best', '--model', 'spirals', '--metric', 'val_loss', '--lower-is-better'],
      ['production', '--model', 'spirals'],
      ['rollback', '--model', 'spirals'],
      ['history'],
      ['alias', 'delete', 'champion', '--model', 'spirals'],
      ['promote', 'Production', '--version', '9', '--model', 'spirals'],
      ['production', '--model', 'nope'],
      ['best'],
      ['runs', 'list'],
      ['runs', 'show', runIds[1]!],
      ['predict', '--model', 'spirals', '--data', '[[0.5, -0.2], [1, 1]]'],
    ]
    for (const args of script) {
      const onFolder = await runCli([...args, '--json', '--home', folder.path])
      const onDb = await runCli([...args, '--json', '--store', pgStore.locator])
      expect(onDb.code, args.join(' ')).toBe(onFolder.code)
      expect(normalise(parseJson(onDb.stdout)), args.join(' ')).toEqual(normalise(parseJson(onFolder.stdout)))
      // A version's files are rows in the database: no folder to name, except where the command
      // wrote them to this machine's cache (production), which then holds the verified files.
      const dirs = dirsOf(parseJson(onDb.stdout))
      if (args[0] === 'production' && onDb.code === 0) {
        expect(dirs, args.join(' ')).toEqual([expect.any(String), expect.any(String)])
        expect(dirs[1]).toBe(dirs[0])
        expect((await readdir(dirs[0] as string)).sort()).toEqual(['manifest.json', 'model.json', 'weights.bin'])
      } else {
        expect(
          dirs.filter((d) => d !== null),
          args.join(' '),
        ).toEqual([])
      }
      if (['register', 'list', 'best', 'rollback'].includes(args[0]!) && onDb.code === 0) {
        expect(dirs.length, args.join(' ')).toBeGreaterThan(0)
        expect(dirsOf(parseJson(onFolder.stdout)).every((d) => typeof d === 'string')).toBe(true)
      }
    }
    // The database enforces what the rules did: one Production version per model.
    const rows = await sql(pgStore.locator, "SELECT model, version FROM versions WHERE stage = 'Production'")
    expect(rows).toEqual([{model: 'spirals', version: 1}])
  })

  it('trains into the database, registers there, and serves a prediction from it', async () => {
    const train = await runCli([
      'train',
      '--problem',
      'moons',
      ...TINY,
      ...TINY_ADAPT,
      '--register-at',
      '0',
      '--stage-at',
      'off',
      '--json',
      '--store',
      pgStore.locator,
    ])
    expect(train.code, train.stderr).toBe(0)
    const out = parseJson<{run: {runId: string}; registry: {registered: {model: string; version: number}}}>(
      train.stdout,
    )
    expect(out.registry.registered).toMatchObject({model: 'moons', version: 1})
    const [row] = await sql<{n: string}>(pgStore.locator, 'SELECT count(*) AS n FROM run_metrics WHERE run_id = $1', [
      out.run.runId,
    ])
    expect(Number(row!.n)).toBe(4)
    const predicted = await runCli([
      'predict',
      '--model',
      'moons',
      '--version',
      '1',
      '--data',
      '[[0, 0, 0]]',
      '--json',
      '--store',
      pgStore.locator,
    ])
    expect(predicted.code, predicted.stdout).toBe(0)
    expect(parseJson<{predictions: number[]}>(predicted.stdout).predictions).toHaveLength(1)
  })

  it('creates its schema with store init, and refuses a newer one without touching it', async () => {
    const url = await createDatabase(inject('postgresAdminUrl'), 'morpho_init')
    const first = await runCli(['store', 'init', '--store', url, '--json'])
    expect(first.code, first.stderr).toBe(0)
    expectShape('store init', parseJson(first.stdout))
    expect(parseJson(first.stdout)).toEqual({
      store: url.replace(/^postgres:\/\/postgres@/, 'postgres://postgres@'),
      kind: 'postgres',
      schemaVersion: 1,
      created: true,
    })
    expect(
      parseJson<{created: boolean}>((await runCli(['store', 'init', '--store', url, '--json'])).stdout).created,
    ).toBe(false)
    await sql(url, 'UPDATE morpho_schema SET version = 99')
    const refused = await runCli(['list', '--store', url, '--json'])
    expect(refused.code).toBe(7)
    expect(parseJson<{error: {message: string; details: unknown}}>(refused.stdout).error).toMatchObject({
      message: expect.stringContaining('has schema version 99, newer than this morpho understands (1)'),
      details: {reason: 'newer_schema', schemaVersion: 99, supported: 1},
    })
    expect(await sql(url, 'SELECT version FROM morpho_schema')).toEqual([{version: 99}])
  })

  it('never shows the password: not in output, errors, doctor, run records, the database or the page', async () => {
    const secret = 'Sup3r-Secret-PW'
    const url = new URL(pgStore.locator)
    url.password = secret
    const withPassword = url.toString()
    const seen: CliResult[] = []
    const cli = async (...args: string[]) => {
      const res = await runCli([...args, '--store', withPassword])
      seen.push(res)
      return res
    }
    const train = await cli('train', '--problem', 'moons', ...TINY, ...TINY_ADAPT, '--model', 'secret', '--json')
    expect(train.code, train.stderr).toBe(0)
    await cli('list')
    await cli('runs', 'list', '--json')
    await cli('doctor', '--json')
    await cli('production', '--model', 'no-such-model', '--json')
    await cli('production', '--model', 'no-such-model')
    const badPort = new URL(withPassword)
    badPort.port = '1'
    const unreachable = await runCli(['list', '--json', '--store', badPort.toString()])
    seen.push(unreachable)
    expect(unreachable.code).toBe(5)
    expect(parseJson<{error: {code: string}}>(unreachable.stdout).error.code).toBe('STORE_UNAVAILABLE')
    const doctor = parseJson<{store: {path: string}}>(seen[3]!.stdout)
    expect(doctor.store.path).toBe(pgStore.locator.replace(/\/\/postgres@/, '//postgres@'))
    for (const res of seen) {
      expect(res.stdout).not.toContain(secret)
      expect(res.stderr).not.toContain(secret)
    }
    const everything = await sql<{t: string}>(
      pgStore.locator,
      `SELECT string_agg(t, ' ') AS t FROM (
         SELECT record::text AS t FROM runs UNION ALL SELECT line::text FROM run_events
         UNION ALL SELECT entry::text FROM history UNION ALL SELECT entry::text FROM versions) all_text`,
    )
    expect(everything[0]!.t).toContain('moons')
    expect(everything[0]!.t).not.toContain(secret)

    const {spawnCli} = await import('../helpers/cli.js')
    const ui = spawnCli(['ui', '--port', '0', '--store', withPassword])
    try {
      const address = await new Promise<string>((resolve, reject) => {
        let err = ''
        ui.stderr.on('data', (d) => {
          err += d
          const m = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(err)
          if (m) resolve(m[1]!)
        })
        ui.on('exit', () => reject(new Error(err)))
      })
      const info = await (await fetch(`${address}api/info`)).text()
      expect(info).toContain(pgStore.locator.replace(/^postgres:\/\//, ''))
      expect(info).not.toContain(secret)
      const runs = await (await fetch(`${address}api/runs`)).text()
      expect(runs).toContain('moons')
      expect(runs).not.toContain(secret)
    } finally {
      ui.kill('SIGTERM')
    }
  })
})
