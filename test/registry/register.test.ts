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
import type {Store} from '../../src/store/store.js'
import {makeRun} from '../helpers/runs.js'
import {BACKENDS, openTestStore, type TestStore} from '../helpers/stores.js'
import {readJson, registerRuns, rejection} from './helpers/store.js'

describe.each(BACKENDS)('registering a run in a %s store', (kind) => {
  let t: TestStore
  let store: Store
  beforeEach(async () => {
    t = await openTestStore(kind)
    store = t.store
  })
  afterEach(() => t.cleanup())
  // A folder store's own files; a database has no leftover folders.
  const folderOnly = kind === 'folder' ? it : () => undefined

  it('copies the model into models/<name>/<version>/ with a manifest and records the version', async () => {
    const run = await makeRun(store, {valAcc: 0.9312, problem: 'spirals'})
    const result = await registerRun(store, run.id, {description: 'first', tags: {owner: 'ana'}})

    expect(result.model).toBe('spirals')
    expect(result.version).toBe(1)
    const registered = await readRegistry(store)
    const files = await store.registry.versionFiles('spirals', registered.models.spirals!.versions[0]!)
    expect([...files.keys()].sort()).toEqual(['manifest.json', 'model.json', 'weights.bin'])
    const runFiles = (await store.runs.modelFiles(run.id))!
    for (const file of ['model.json', 'weights.bin']) expect(files.get(file)).toEqual(runFiles.get(file))
    const manifest = JSON.parse(Buffer.from(files.get(MANIFEST_FILE)!).toString()) as Manifest
    expect(manifest.files.map((f) => f.path)).toEqual(['model.json', 'weights.bin'])
    expect(manifest.files[1]!.sha256).toBe(sha256(files.get('weights.bin')!))

    const dir = store.registry.versionDir('spirals', registered.models.spirals!.versions[0]!)
    if (kind === 'folder') {
      expect(dir).toBe(join(t.home, 'models', 'spirals', '1'))
      expect((await readdir(dir)).sort()).toEqual(['manifest.json', 'model.json', 'weights.bin'])
      for (const file of ['model.json', 'weights.bin']) {
        expect(await readFile(join(dir, file))).toEqual(await readFile(join(t.home, 'runs', run.id, 'model', file)))
      }
      for (const file of ['manifest.json', 'model.json', 'weights.bin']) {
        expect((await stat(join(dir, file))).mode & 0o777, file).toBe(0o444)
      }
      expect(manifest).toEqual(await readJson<Manifest>(join(dir, MANIFEST_FILE)))
    }

    const doc = kind === 'folder' ? await readJson<RegistryDocument>(join(t.home, 'registry.json')) : registered
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
      manifestSha256: sha256(files.get(MANIFEST_FILE)!),
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
    // A database store's files are rows: its answer names no folder.
    expect(result.entry).toMatchObject({model: 'spirals', aliases: [], dir: kind === 'folder' ? dir : null, version: 1})
    if (kind === 'folder') {
      await expect(verifyVersion(dir, {manifestSha256: entry.manifestSha256})).resolves.toMatchObject({runId: run.id})
    }
  })

  it('numbers versions per model, monotonically, and never reuses a number after archiving', async () => {
    await registerRuns(store, [0.8, 0.85])
    await promote(store, {version: 2, stage: 'Archived'})
    const [third] = await registerRuns(store, [0.9])
    expect(third!.version).toBe(3)
    const [other] = await registerRuns(store, [0.7], {problem: 'moons'})
    expect(other).toMatchObject({model: 'moons', version: 1})
  })

  it('gives out distinct consecutive versions to registrations racing in one process', async () => {
    const runs = await Promise.all(Array.from({length: 8}, () => makeRun(store, {valAcc: 0.8})))
    const results = await Promise.all(runs.map((r) => registerRun(store, r.id)))
    expect(results.map((r) => r.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    const doc = await readRegistry(store)
    expect(doc.history.map((h) => h.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
  })

  folderOnly(
    'replaces a leftover folder at the allocated version (a writer that crashed before recording it)',
    async () => {
      await registerRuns(store, [0.8])
      const leftover = join(t.home, 'models', 'spirals', '2')
      await mkdir(leftover, {recursive: true})
      await writeFile(join(leftover, 'weights.bin'), 'half a copy')
      const [second] = await registerRuns(store, [0.9])
      expect(second!.version).toBe(2)
      await expect(verifyVersion(leftover, {manifestSha256: second!.entry.manifestSha256})).resolves.toBeTruthy()
      // and no private copy folders are left behind
      expect((await readdir(join(t.home, 'models', 'spirals'))).sort()).toEqual(['1', '2'])
    },
  )

  it('refuses a run that does not exist, naming it and pointing at morpho runs list', async () => {
    const err = await rejection(registerRun(store, 'no-such-run'))
    expect(err).toMatchObject({code: 'NOT_FOUND', details: {runId: 'no-such-run'}})
    expect(err.message).toContain('run "no-such-run" not found')
    expect(err.hint).toContain('morpho runs list')
  })

  it('refuses a run that is not completed, or has no saved model, as invalid data', async () => {
    const failed = await makeRun(store, {status: 'failed'})
    expect(await rejection(registerRun(store, failed.id))).toMatchObject({
      code: 'INVALID_DATA',
      message: expect.stringContaining('"failed", not completed'),
    })
    const noModel = await makeRun(store, {withModel: false})
    expect(await rejection(registerRun(store, noModel.id))).toMatchObject({
      code: 'INVALID_DATA',
      message: expect.stringContaining('has no saved model'),
    })
    if (kind === 'folder') await expect(readFile(join(t.home, 'registry.json'))).rejects.toMatchObject({code: 'ENOENT'})
    expect((await readRegistry(store)).history).toEqual([])
  })

  it('refuses names that would leave the store', async () => {
    const run = await makeRun(store)
    expect(await rejection(registerRun(store, '../x'))).toMatchObject({code: 'USAGE'})
    expect(await rejection(registerRun(store, run.id, {model: '../../etc'}))).toMatchObject({code: 'USAGE'})
    expect(await rejection(registerRun(store, run.id, {model: 'a/b'}))).toMatchObject({code: 'USAGE'})
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
