import {readdir, readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {withLock} from '../../src/registry/index.js'
import {FolderStore} from '../../src/store/folder/folder-store.js'
import {parseJson, runCli, tempDir} from '../helpers/cli.js'
import {makeRun, tamper} from '../helpers/runs.js'
import {expectShape} from '../helpers/shapes.js'

/** The registry through the built CLI: what a user and a CI script see (stdout, exit codes, files). */

const VERSION_KEYS = [
  'aliases',
  'createdAt',
  'description',
  'dir',
  'manifestSha256',
  'metrics',
  'model',
  'params',
  'path',
  'registeredBy',
  'runId',
  'stage',
  'tags',
  'updatedAt',
  'version',
]
const keys = (o: object) => Object.keys(o).sort()

interface Envelope {
  error: {code: string; exitCode: number; message: string; hint?: string; details?: Record<string, unknown>}
}

describe('the registry commands (built CLI)', () => {
  let tmp: {path: string; cleanup: () => Promise<void>}
  let home: string
  const morpho = (...args: string[]) => runCli([...args, '--home', home])
  const runs: string[] = []

  beforeAll(async () => {
    tmp = await tempDir('morpho-registry-cli-')
    home = join(tmp.path, 'store')
    for (const valAcc of [0.82, 0.95, 0.91]) runs.push((await makeRun(home, {valAcc})).id)
  })
  afterAll(() => tmp.cleanup())

  it('takes a model from registration to Production and back, with stable --json shapes', async () => {
    // register: the version, and the full entry
    // The original's form: --tags with several k=v values after it.
    const reg = await morpho(
      'register',
      runs[0]!,
      '--description',
      'baseline',
      '--tags',
      'owner=ana',
      'expr=a=b',
      '--json',
    )
    expect(reg.code).toBe(0)
    const registered = parseJson<{model: string; version: number; entry: Record<string, unknown>}>(reg.stdout)
    expectShape('register', registered)
    expect(keys(registered)).toEqual(['entry', 'model', 'version'])
    expect(registered).toMatchObject({model: 'spirals', version: 1})
    expect(keys(registered.entry)).toEqual(VERSION_KEYS)
    expect(registered.entry).toMatchObject({
      model: 'spirals',
      version: 1,
      stage: 'None',
      runId: runs[0],
      description: 'baseline',
      tags: {owner: 'ana', expr: 'a=b'},
      metrics: expect.objectContaining({val_acc: 0.82}),
      params: {problem: 'spirals', backend: 'cpu', seed: 42},
      path: 'models/spirals/1',
      registeredBy: {rule: 'manual'},
      aliases: [],
      dir: join(home, 'models', 'spirals', '1'),
    })

    const human = await morpho('register', runs[1]!)
    expect(human.code).toBe(0)
    expect(human.stdout).toBe(
      `registered spirals v2 (val_acc 0.9500, run ${runs[1]})\n  files: ${join(home, 'models', 'spirals', '2')}\n`,
    )
    expect((await morpho('register', runs[2]!)).code).toBe(0)

    // list: a table, newest first
    const listed = parseJson<{versions: {version: number}[]}>((await morpho('list', '--json')).stdout)
    expectShape('list', listed)
    expect(listed.versions.map((v) => v.version)).toEqual([3, 2, 1])
    const table = await morpho('list')
    const lines = table.stdout.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^VERSION\s+STAGE\s+ALIASES\s+VAL_ACC\s+RUN\s+CREATED$/)
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 4))).toEqual([
      ['v3', 'None', '-', '0.9100'],
      ['v2', 'None', '-', '0.9500'],
      ['v1', 'None', '-', '0.8200'],
    ])
    expect(lines[1]).toMatch(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/)

    // promote: archive-on-promote, and a repeat is a no-op
    const p2 = await morpho('promote', 'Production', '--version', '2', '--json')
    expect(p2.code).toBe(0)
    const promoted = parseJson<Record<string, unknown> & {entry: object}>(p2.stdout)
    expectShape('promote', promoted)
    expect(keys(promoted)).toEqual(['displaced', 'entry', 'from', 'model', 'noop', 'to', 'version'])
    expect(promoted).toMatchObject({
      model: 'spirals',
      version: 2,
      from: 'None',
      to: 'Production',
      noop: false,
      displaced: [],
    })
    expect(keys(promoted.entry)).toEqual([...VERSION_KEYS, 'promotedBy'].sort())
    const p3 = await morpho('promote', 'production', '--version', '3', '--reason', 'fresher data')
    expect(p3.stdout).toBe('promoted spirals v3 to Production (archived v2)\n')
    const again = await morpho('promote', 'Production', '--version', '3')
    expect(again).toMatchObject({code: 0, stdout: 'spirals v3 is already in Production; nothing changed\n'})

    // best: ties and missing metrics per the README; production: the holder and its folder
    const best = await morpho('best', '--json')
    const bestJson = parseJson<Record<string, unknown>>(best.stdout)
    expectShape('best', bestJson)
    expect(keys(bestJson)).toEqual([
      'considered',
      'entry',
      'lowerIsBetter',
      'metric',
      'model',
      'skipped',
      'value',
      'version',
    ])
    expect(bestJson).toMatchObject({
      model: 'spirals',
      version: 2,
      metric: 'val_acc',
      value: 0.95,
      lowerIsBetter: false,
      considered: 3,
      skipped: 0,
    })
    const prod = await morpho('production', '--json')
    const prodJson = parseJson<Record<string, unknown>>(prod.stdout)
    expectShape('production', prodJson)
    expect(keys(prodJson)).toEqual(['dir', 'entry', 'model', 'uri', 'version'])
    expect(prodJson).toMatchObject({
      model: 'spirals',
      version: 3,
      uri: 'models:/spirals/3',
      dir: join(home, 'models', 'spirals', '3'),
    })

    // aliases beside the stages
    const alias = await morpho('alias', 'set', 'champion', '2', '--json')
    expectShape('alias set', parseJson(alias.stdout))
    expect(parseJson(alias.stdout)).toEqual({
      model: 'spirals',
      alias: 'champion',
      version: 2,
      previous: null,
      noop: false,
    })
    const reserved = await morpho('alias', 'set', 'Production', '2', '--json')
    expect(reserved.code).toBe(2)
    expect(parseJson<Envelope>(reserved.stdout).error.message).toBe('"Production" is reserved and cannot be an alias')
    expect((await morpho('list')).stdout).toMatch(/\nv2\s+Archived\s+champion\s+0\.9500/)

    // rollback: Production goes back to v2, v3 is archived
    const rb = await morpho('rollback', '--json')
    expect(rb.code).toBe(0)
    const rolled = parseJson<Record<string, unknown>>(rb.stdout)
    expectShape('rollback', rolled)
    expect(keys(rolled)).toEqual(['entry', 'from', 'model', 'skipped', 'version'])
    expect(rolled).toMatchObject({model: 'spirals', version: 2, from: 3, skipped: []})
    expect((await morpho('production')).stdout).toMatch(/^models:\/spirals\/2 {2}\(val_acc 0\.9500/)

    const del = await morpho('alias', 'delete', 'champion', '--json')
    expectShape('alias delete', parseJson(del.stdout))
    expect(parseJson(del.stdout)).toEqual({model: 'spirals', alias: 'champion', version: 2, previous: 2, noop: false})

    // history: every change, newest first, with who and why
    const hist = parseJson<{entries: Record<string, unknown>[]; total: number}>(
      (await morpho('history', '--json')).stdout,
    )
    expectShape('history', hist)
    expect(hist.total).toBe(10)
    expect(hist.entries.map((e) => [e.seq, e.action, e.version, e.from, e.to])).toEqual([
      [10, 'alias_delete', 2, 2, null],
      [9, 'transition', 3, 'Production', 'Archived'],
      [8, 'rollback', 2, 'Archived', 'Production'],
      [7, 'alias_set', 2, null, 2],
      [6, 'transition', 2, 'Production', 'Archived'],
      [5, 'transition', 3, 'None', 'Production'],
      [4, 'transition', 2, 'None', 'Production'],
      [3, 'register', 3, null, 'None'],
      [2, 'register', 2, null, 'None'],
      [1, 'register', 1, null, 'None'],
    ])
    expect(keys(hist.entries[0]!)).toEqual([
      'action',
      'actor',
      'alias',
      'from',
      'model',
      'reason',
      'rule',
      'seq',
      'time',
      'to',
      'version',
    ])
    expect(hist.entries.find((e) => e.seq === 5)).toMatchObject({reason: 'fresher data', rule: {rule: 'manual'}})
    const text = (await morpho('history', '--limit', '2')).stdout.split('\n')
    expect(text[0]).toMatch(/^SEQ\s+TIME\s+MODEL\s+VERSION\s+ACTION\s+FROM\s+TO\s+BY\s+REASON$/)
    expect(text[1]).toMatch(/alias_delete champion\s+v2\s+-\s+\S+@\S+\s+alias champion deleted \(was v2\)$/)
  })

  it('says "nothing found" (exit 4) for a lookup of one thing, answers an empty listing with exit 0, and a usage mistake with exit 2', async () => {
    const empty = join(tmp.path, 'empty')
    const inEmpty = (...args: string[]) => runCli([...args, '--home', empty, '--json'])
    const prod = await inEmpty('production')
    expect(prod.code).toBe(4)
    expect(parseJson<Envelope>(prod.stdout).error).toMatchObject({
      code: 'NOT_FOUND',
      exitCode: 4,
      message: 'the registry has no models yet',
    })
    // Listings that find nothing are empty lists, not errors.
    const list = await inEmpty('list')
    expect(list.code).toBe(0)
    expect(parseJson(list.stdout)).toEqual({versions: []})
    expect(await runCli(['list', '--home', empty])).toMatchObject({
      code: 0,
      stdout: 'No versions yet. Register a run with morpho register <run-id>, or train one with morpho train.\n',
    })
    const noStaging = await morpho('list', '--stage', 'staging', '--model', 'spirals', '--json')
    expect(noStaging.code).toBe(0)
    expect(parseJson(noStaging.stdout)).toEqual({versions: []})
    expect(parseJson(await inEmpty('runs', 'list').then((r) => r.stdout))).toEqual({runs: [], total: 0, skipped: []})
    expect(parseJson((await inEmpty('history')).stdout)).toEqual({entries: [], total: 0})
    const sweeps = await inEmpty('sweeps', 'list')
    expect(sweeps.code).toBe(0)
    expect(parseJson(sweeps.stdout)).toEqual({sweeps: []})
    expect((await inEmpty('sweeps', 'show', 'sweep-nope')).code).toBe(4)
    // Naming a model that is not there is a lookup.
    expect((await morpho('list', '--model', 'nope', '--json')).code).toBe(4)

    expect(await morpho('best', '--stage', 'Staging')).toMatchObject({
      code: 4,
      stderr: expect.stringContaining('no version of spirals in stage Staging'),
    })
    const missing = await morpho('register', 'no-such-run', '--json')
    expect(missing.code).toBe(4)
    expect(parseJson<Envelope>(missing.stdout).error).toMatchObject({
      code: 'NOT_FOUND',
      hint: 'List the runs with morpho runs list.',
    })
    expect((await morpho('promote', 'Production', '--version', '42')).code).toBe(4)
    expect((await morpho('alias', 'delete', 'nobody')).code).toBe(4)

    const tag = await morpho('register', runs[0]!, '--tag', 'owner', '--json')
    expect(tag.code).toBe(2)
    expect(parseJson<Envelope>(tag.stdout).error.message).toBe('Invalid tag "owner"')
    expect((await morpho('promote', 'Prod', '--version', '1')).code).toBe(2)
  })

  it('refuses path tricks with exit 2 and writes nothing outside the store', async () => {
    const before = await readFile(join(home, 'registry.json'), 'utf8')
    expect((await morpho('register', runs[0]!, '--model', '../../etc')).code).toBe(2)
    expect((await morpho('register', '../x')).code).toBe(2)
    expect((await morpho('list', '--model', '../..')).code).toBe(2)
    expect(await readdir(tmp.path)).toEqual(expect.not.arrayContaining(['etc', 'x']))
    expect((await readdir(home)).sort()).toEqual(['models', 'registry.json', 'runs'])
    expect(await readdir(join(home, 'models'))).toEqual(['spirals'])
    expect(await readFile(join(home, 'registry.json'), 'utf8')).toBe(before)
  })

  it('refuses a tampered version with exit 7 and a message naming the file', async () => {
    const store = join(tmp.path, 'tampered')
    const run = await makeRun(store, {valAcc: 0.9})
    const m = (...args: string[]) => runCli([...args, '--home', store])
    expect((await m('register', run.id)).code).toBe(0)
    expect((await m('promote', 'Production', '--version', '1')).code).toBe(0)
    await tamper(new FolderStore(store), 'spirals', 1)
    const prod = await m('production', '--json')
    expect(prod.code).toBe(7)
    const error = parseJson<Envelope>(prod.stdout).error
    expect(error.code).toBe('INTEGRITY')
    expect(error.message).toMatch(
      /^version spirals v1 failed verification: weights\.bin sha256 mismatch \(expected [0-9a-f]{64}, got [0-9a-f]{64}\)$/,
    )
    expect(error.hint).toContain(join(store, 'models', 'spirals', '1'))
  })

  it('refuses a corrupt or newer registry.json with exit 7, names the file, and does not overwrite it', async () => {
    for (const [name, content, pattern] of [
      ['corrupt', '{"schemaVersion": 1, "models": {"spir', /is not valid JSON/],
      [
        'newer',
        JSON.stringify({schemaVersion: 2, models: {}, history: [], future: true}),
        /newer than this morpho understands/,
      ],
    ] as const) {
      const store = join(tmp.path, name)
      const run = await makeRun(store)
      await writeFile(join(store, 'registry.json'), content)
      for (const args of [['list'], ['register', run.id], ['production']]) {
        const res = await runCli([...args, '--home', store, '--json'])
        expect(res.code, `${name}: ${args[0]}`).toBe(7)
        const error = parseJson<Envelope>(res.stdout).error
        expect(error.message).toContain(join(store, 'registry.json'))
        expect(error.message).toMatch(pattern)
      }
      expect(await readFile(join(store, 'registry.json'), 'utf8')).toBe(content)
      expect(await readdir(join(store))).not.toContain('models')
    }
  })

  it('answers "registry busy" with exit 5 when another process holds the lock past the wait', async () => {
    const run = await makeRun(home, {valAcc: 0.77})
    const before = await readFile(join(home, 'registry.json'), 'utf8')
    const res = await withLock(new FolderStore(home).paths.registryLock, () =>
      runCli(['register', run.id, '--home', home, '--json'], {env: {MORPHO_LOCK_TIMEOUT_MS: '400'}}),
    )
    expect(res.code).toBe(5)
    const error = parseJson<Envelope>(res.stdout).error
    expect(error.code).toBe('REGISTRY_BUSY')
    expect(error.message).toMatch(/^registry busy: another morpho process holds .*registry\.lock \(waited \d+ ms\)$/)
    expect(await readFile(join(home, 'registry.json'), 'utf8')).toBe(before)
    // once the lock is free the same command goes through
    expect((await morpho('register', run.id)).code).toBe(0)
  })

  it('needs --model when there are several models, and lists them', async () => {
    const store = join(tmp.path, 'two-models')
    for (const problem of ['spirals', 'moons']) {
      const run = await makeRun(store, {problem})
      expect((await runCli(['register', run.id, '--home', store])).code).toBe(0)
    }
    const res = await runCli(['best', '--home', store, '--json'])
    expect(res.code).toBe(2)
    expect(parseJson<Envelope>(res.stdout).error).toMatchObject({
      message: 'the registry holds 2 models; say which one with --model',
      hint: 'Models: moons, spirals.',
    })
    const list = await runCli(['list', '--home', store])
    expect(list.stdout.split('\n')[0]).toMatch(/^MODEL\s+VERSION/)
    expect((await runCli(['best', '--model', 'moons', '--home', store])).code).toBe(0)
  })
})
