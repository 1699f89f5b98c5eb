import {mkdir, readdir, readFile, stat, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {
  MANIFEST_FILE,
  type Manifest,
  modelNameFor,
  parseTags,
  promote,
  type RegistryDocument,
  readRegistry,
  registerRun,
  sha256,
  verifyVersion,
} from '../../src/registry/index.js'
import type {StorePaths} from '../../src/store/paths.js'
import {makeRun} from '../helpers/runs.js'
import {newStore, readJson, registerRuns, rejection} from './helpers/store.js'

describe('registering a run', () => {
  let store: Awaited<ReturnType<typeof newStore>>
  let paths: StorePaths
  beforeEach(async () => {
    store = await newStore()
    paths = store.paths
  })
  afterEach(() => store.cleanup())

  it('copies the model into models/<name>/<version>/ with a manifest and records the version', async () => {
    const run = await makeRun(store.home, {valAcc: 0.9312, problem: 'spirals'})
    const result = await registerRun(store.store, run.id, {description: 'first', tags: {owner: 'ana'}})

    expect(result.model).toBe('spirals')
    expect(result.version).toBe(1)
    const dir = join(store.home, 'models', 'spirals', '1')
    expect((await readdir(dir)).sort()).toEqual(['manifest.json', 'model.json', 'weights.bin'])
    for (const file of ['model.json', 'weights.bin']) {
      expect(await readFile(join(dir, file))).toEqual(await readFile(join(store.home, 'runs', run.id, 'model', file)))
    }
    for (const file of ['manifest.json', 'model.json', 'weights.bin']) {
      expect((await stat(join(dir, file))).mode & 0o777, file).toBe(0o444)
    }
    const manifest = await readJson<Manifest>(join(dir, MANIFEST_FILE))
    expect(manifest.files.map((f) => f.path)).toEqual(['model.json', 'weights.bin'])
    expect(manifest.files[1]!.sha256).toBe(sha256(await readFile(join(dir, 'weights.bin'))))

    const doc = await readJson<RegistryDocument>(paths.registryFile)
    expect(doc.schemaVersion).toBe(1)
    const entry = doc.models.spirals!.versions[0]!
    expect(entry).toEqual({
      version: 1,
      stage: 'None',
      runId: run.id,
      createdAt: expect.any(String),
      updatedAt: entry.createdAt,
      description: 'first',
      tags: {owner: 'ana'},
      metrics: expect.objectContaining({val_acc: 0.9312, val_loss: 0.21, train_loss: 0.6, seeds_germinated: 1}),
      params: {problem: 'spirals', backend: 'cpu', seed: 42},
      path: 'models/spirals/1',
      manifestSha256: sha256(await readFile(join(dir, MANIFEST_FILE))),
      registeredBy: {rule: 'manual'},
    })
    expect(doc.models.spirals!.nextVersion).toBe(2)
    expect(doc.history).toEqual([
      {
        seq: 1,
        time: entry.createdAt,
        model: 'spirals',
        version: 1,
        action: 'register',
        from: null,
        to: 'None',
        reason: `registered run ${run.id}`,
        rule: {rule: 'manual'},
        actor: {user: expect.any(String), host: expect.any(String), pid: process.pid},
      },
    ])
    expect(result.entry).toMatchObject({model: 'spirals', aliases: [], dir, version: 1})
    await expect(verifyVersion(dir, {manifestSha256: entry.manifestSha256})).resolves.toMatchObject({runId: run.id})
  })

  it('numbers versions per model, monotonically, and never reuses a number after archiving', async () => {
    await registerRuns(store.store, [0.8, 0.85])
    await promote(store.store, {version: 2, stage: 'Archived'})
    const [third] = await registerRuns(store.store, [0.9])
    expect(third!.version).toBe(3)
    const [other] = await registerRuns(store.store, [0.7], {problem: 'moons'})
    expect(other).toMatchObject({model: 'moons', version: 1})
  })

  it('gives out distinct consecutive versions to registrations racing in one process', async () => {
    const runs = await Promise.all(Array.from({length: 8}, () => makeRun(store.home, {valAcc: 0.8})))
    const results = await Promise.all(runs.map((r) => registerRun(store.store, r.id)))
    expect(results.map((r) => r.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    const doc = await readRegistry(store.store)
    expect(doc.history.map((h) => h.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
  })

  it('replaces a leftover folder at the allocated version (a writer that crashed before recording it)', async () => {
    await registerRuns(store.store, [0.8])
    const leftover = join(store.home, 'models', 'spirals', '2')
    await mkdir(leftover, {recursive: true})
    await writeFile(join(leftover, 'weights.bin'), 'half a copy')
    const [second] = await registerRuns(store.store, [0.9])
    expect(second!.version).toBe(2)
    await expect(verifyVersion(leftover, {manifestSha256: second!.entry.manifestSha256})).resolves.toBeTruthy()
    // and no private copy folders are left behind
    expect((await readdir(join(store.home, 'models', 'spirals'))).sort()).toEqual(['1', '2'])
  })

  it('refuses a run that does not exist, naming it and pointing at morpho runs list', async () => {
    const err = await rejection(registerRun(store.store, 'no-such-run'))
    expect(err).toMatchObject({code: 'NOT_FOUND', details: {runId: 'no-such-run'}})
    expect(err.message).toContain('run "no-such-run" not found')
    expect(err.hint).toContain('morpho runs list')
  })

  it('refuses a run that is not completed, or has no saved model, as invalid data', async () => {
    const failed = await makeRun(store.home, {status: 'failed'})
    expect(await rejection(registerRun(store.store, failed.id))).toMatchObject({
      code: 'INVALID_DATA',
      message: expect.stringContaining('"failed", not completed'),
    })
    const noModel = await makeRun(store.home, {withModel: false})
    expect(await rejection(registerRun(store.store, noModel.id))).toMatchObject({
      code: 'INVALID_DATA',
      message: expect.stringContaining('has no saved model'),
    })
    await expect(readFile(paths.registryFile)).rejects.toMatchObject({code: 'ENOENT'})
  })

  it('refuses names that would leave the store', async () => {
    const run = await makeRun(store.home)
    expect(await rejection(registerRun(store.store, '../x'))).toMatchObject({code: 'USAGE'})
    expect(await rejection(registerRun(store.store, run.id, {model: '../../etc'}))).toMatchObject({code: 'USAGE'})
    expect(await rejection(registerRun(store.store, run.id, {model: 'a/b'}))).toMatchObject({code: 'USAGE'})
  })

  it('names the model after the problem, made safe', async () => {
    expect(modelNameFor('spirals')).toBe('spirals')
    expect(modelNameFor('my data.csv')).toBe('my-data.csv')
    expect(modelNameFor('../../etc/passwd')).toBe('etc-passwd')
    expect(modelNameFor('%%%')).toBe('model')
  })
})

describe('tags', () => {
  it('split on the first "=" and keep the rest of the value', () => {
    expect(parseTags(['owner=ana', 'expr=a=b', 'empty='])).toEqual({owner: 'ana', expr: 'a=b', empty: ''})
  })

  it('refuse an item without "=" or without a key, naming it (the original dropped them silently)', () => {
    expect(() => parseTags(['owner=ana', 'oops'])).toThrow(
      expect.objectContaining({code: 'USAGE', message: 'Invalid tag "oops"'}),
    )
    expect(() => parseTags(['=v'])).toThrow(expect.objectContaining({code: 'USAGE', message: 'Invalid tag "=v"'}))
  })

  it('keep a key like __proto__ as an ordinary tag', () => {
    const tags = parseTags(['__proto__=x'])
    expect(Object.keys(tags)).toEqual(['__proto__'])
    expect(Object.getPrototypeOf(tags)).toBe(Object.prototype)
  })
})
