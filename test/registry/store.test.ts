import {chmod, mkdir, readFile, stat, utimes, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {
  autoRegister,
  lockSettings,
  MANIFEST_FILE,
  promote,
  readRegistry,
  registerRun,
  verifyVersion,
  withLock,
} from '../../src/registry/index.js'
import {serializeRegistry} from '../../src/store/folder/registry-file.js'
import type {StorePaths} from '../../src/store/paths.js'
import {makeRun, tamper} from '../helpers/runs.js'
import {newStore, readJson, registerRuns, rejection} from './helpers/store.js'

let store: Awaited<ReturnType<typeof newStore>>
let paths: StorePaths
beforeEach(async () => {
  store = await newStore()
  paths = store.paths
})
afterEach(() => store.cleanup())

describe('registry.json', () => {
  it('missing is an empty registry, not an error', async () => {
    expect(await readRegistry(store.store)).toEqual({schemaVersion: 1, models: {}, history: []})
  })

  const refusals: [string, string, RegExp][] = [
    ['truncated JSON', '{"schemaVersion": 1, "models": {', /registry\.json is not valid JSON/],
    ['an empty file', '', /registry\.json is not valid JSON/],
    [
      'a newer schema',
      JSON.stringify({schemaVersion: 2, models: {}, history: []}),
      /has schemaVersion 2, newer than this morpho understands \(1\)/,
    ],
    ['a foreign document', JSON.stringify({hello: 'world'}), /is not a morpho registry/],
    [
      'a damaged field',
      JSON.stringify({
        schemaVersion: 1,
        models: {m: {name: 'm', createdAt: 'x', nextVersion: 1, aliases: {}, versions: [{version: 1}]}},
        history: [],
      }),
      /is damaged: models\.m\.versions\[0\]\.stage/,
    ],
  ]
  for (const [what, content, message] of refusals) {
    it(`refuses ${what} with INTEGRITY naming the file, and a write leaves it untouched`, async () => {
      await writeFile(paths.registryFile, content)
      const read = await rejection(readRegistry(store.store))
      expect(read.code).toBe('INTEGRITY')
      expect(read.message).toMatch(message)
      expect(read.message).toContain(paths.registryFile)
      expect(read.hint).toMatch(/left the file untouched/)
      const run = await makeRun(store.home)
      expect(await rejection(registerRun(store.store, run.id))).toMatchObject({code: 'INTEGRITY'})
      expect(await readFile(paths.registryFile, 'utf8')).toBe(content)
    })
  }

  it('tells the user to upgrade when the schema is newer', async () => {
    await writeFile(paths.registryFile, JSON.stringify({schemaVersion: 7}))
    expect((await rejection(readRegistry(store.store))).hint).toMatch(/^Upgrade morpho/)
  })

  it('is written with one line per version and per history entry, keeping fields it does not know', async () => {
    await registerRuns(store.store, [0.8, 0.9])
    const doc = await readRegistry(store.store)
    ;(doc.models.spirals!.versions[0] as unknown as Record<string, unknown>).addedLater = {x: 1}
    const text = serializeRegistry(doc)
    const lines = text.split('\n')
    expect(lines.filter((l) => l.startsWith('        {"version":'))).toHaveLength(2)
    expect(lines.filter((l) => l.startsWith('    {"seq":'))).toHaveLength(2)
    expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(doc)))
  })

  it('round-trips through serialize and read', async () => {
    await registerRuns(store.store, [0.8, 0.9])
    const doc = await readRegistry(store.store)
    expect(await readFile(paths.registryFile, 'utf8')).toBe(serializeRegistry(doc))
  })
})

describe('the lock', () => {
  it('reads its settings from the environment, with a floor on staleness', () => {
    expect(lockSettings({})).toEqual({timeoutMs: 10_000, staleMs: 5_000})
    expect(lockSettings({MORPHO_LOCK_TIMEOUT_MS: '250', MORPHO_LOCK_STALE_MS: '100'})).toEqual({
      timeoutMs: 250,
      staleMs: 2_000,
    })
    expect(() => lockSettings({MORPHO_LOCK_TIMEOUT_MS: 'soon'})).toThrow(expect.objectContaining({code: 'USAGE'}))
  })

  it('gives up after the bounded wait with REGISTRY_BUSY naming the lock', async () => {
    await mkdir(paths.registryLock, {recursive: true})
    const started = Date.now()
    const err = await rejection(withLock(paths.registryLock, async () => 'never', {timeoutMs: 300, staleMs: 10_000}))
    expect(Date.now() - started).toBeGreaterThanOrEqual(290)
    expect(err.code).toBe('REGISTRY_BUSY')
    expect(err.message).toMatch(
      new RegExp(`^registry busy: another morpho process holds ${paths.registryLock} \\(waited \\d+ ms\\)$`),
    )
    expect(err.hint).toContain('MORPHO_LOCK_TIMEOUT_MS')
  })

  it('takes over a lock left by a dead holder once it is stale', async () => {
    await mkdir(paths.registryLock, {recursive: true})
    const old = new Date(Date.now() - 60_000)
    await utimes(paths.registryLock, old, old)
    await expect(withLock(paths.registryLock, async () => 'done', {timeoutMs: 1_000, staleMs: 2_000})).resolves.toBe(
      'done',
    )
    await expect(stat(paths.registryLock)).rejects.toMatchObject({code: 'ENOENT'})
  })

  it('is released when the work throws', async () => {
    await expect(withLock(paths.registryLock, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom')
    await expect(stat(paths.registryLock)).rejects.toMatchObject({code: 'ENOENT'})
  })
})

describe('manifest verification', () => {
  it('catches a changed, missing or added file, and a manifest rewritten to match', async () => {
    const [r] = await registerRuns(store.store, [0.8])
    const dir = r!.entry.dir!
    const expected = r!.entry.manifestSha256
    await expect(verifyVersion(dir, {manifestSha256: expected})).resolves.toBeTruthy()

    await tamper(store.store, 'spirals', 1)
    const changed = await rejection(verifyVersion(dir, {label: 'spirals v1'}))
    expect(changed).toMatchObject({code: 'INTEGRITY', details: {file: 'weights.bin'}})
    expect(changed.hint).toMatch(/Register the run again/)

    // rewrite the manifest so the tampered bytes "match": the registry's manifest hash catches it
    const manifest = await readJson<{files: {path: string; sha256: string; size: number}[]}>(join(dir, MANIFEST_FILE))
    const {sha256} = await import('../../src/registry/index.js')
    manifest.files[1]!.sha256 = sha256(await readFile(join(dir, 'weights.bin')))
    await chmod(join(dir, MANIFEST_FILE), 0o644)
    await writeFile(join(dir, MANIFEST_FILE), JSON.stringify(manifest))
    await expect(verifyVersion(dir)).resolves.toBeTruthy()
    expect((await rejection(verifyVersion(dir, {manifestSha256: expected}))).message).toMatch(
      /manifest\.json sha256 mismatch/,
    )
  })

  it('refuses a half-copied version (a file missing) and a missing folder', async () => {
    const [r] = await registerRuns(store.store, [0.8])
    const {rm} = await import('node:fs/promises')
    await rm(join(r!.entry.dir!, 'weights.bin'))
    expect((await rejection(verifyVersion(r!.entry.dir!))).message).toBe(
      'version spirals v1 failed verification: weights.bin is missing',
    )
    expect((await rejection(verifyVersion(join(store.home, 'models', 'spirals', '9')))).message).toBe(
      'version spirals v9 failed verification: its folder is missing',
    )
  })
})

describe('auto-registration after training', () => {
  it('registers at >= 0.70 and promotes to Staging at >= 0.90, recording the rule', async () => {
    const run = await makeRun(store.home, {valAcc: 0.93})
    const result = await autoRegister(store.store, run)
    expect(result.messages).toEqual([
      'registered spirals v1 (val_acc 0.9300 >= 0.7)',
      'promoted v1 to Staging (val_acc 0.9300 >= 0.9)',
    ])
    const entry = (await readRegistry(store.store)).models.spirals!.versions[0]!
    expect(entry.registeredBy).toEqual({rule: 'auto', metric: 'val_acc', threshold: 0.7})
    expect(entry.stage).toBe('Staging')
    expect(entry.promotedBy).toEqual({rule: 'auto', metric: 'val_acc', threshold: 0.9, at: expect.any(String)})
    const history = (await readRegistry(store.store)).history
    expect(history.map((h) => h.reason)).toEqual(['auto: val_acc 0.9300 >= 0.7', 'auto: val_acc 0.9300 >= 0.9'])
  })

  it('registers without promoting between the thresholds, and archives the previous Staging auto-promotion', async () => {
    const mid = await autoRegister(store.store, await makeRun(store.home, {valAcc: 0.75}))
    expect(mid.registered?.version).toBe(1)
    expect(mid.promoted).toBeUndefined()
    await autoRegister(store.store, await makeRun(store.home, {valAcc: 0.91}))
    const third = await autoRegister(store.store, await makeRun(store.home, {valAcc: 0.95}))
    expect(third.promoted?.displaced).toEqual([{version: 2, from: 'Staging', to: 'Archived'}])
    expect(third.messages[1]).toBe('promoted v3 to Staging (val_acc 0.9500 >= 0.9); archived v2')
  })

  it('skips below the threshold, without val_acc, for an unfinished run, or when turned off', async () => {
    expect((await autoRegister(store.store, await makeRun(store.home, {valAcc: 0.5}))).skipped).toBe(
      'val_acc 0.5000 is below 0.7',
    )
    expect((await autoRegister(store.store, await makeRun(store.home, {valAcc: null}))).skipped).toBe(
      'the run has no val_acc',
    )
    expect((await autoRegister(store.store, await makeRun(store.home, {status: 'interrupted'}))).skipped).toBe(
      'the run is interrupted',
    )
    expect(
      (await autoRegister(store.store, await makeRun(store.home, {valAcc: 0.99}), {registerAt: null})).skipped,
    ).toBe('auto-registration is off')
    await expect(stat(paths.registryFile)).rejects.toMatchObject({code: 'ENOENT'})
  })

  it('honours other thresholds, a disabled Staging rule and a model name', async () => {
    const r = await autoRegister(store.store, await makeRun(store.home, {valAcc: 0.99}), {
      registerAt: 0.5,
      stageAt: null,
      model: 'exp',
    })
    expect(r.registered).toMatchObject({model: 'exp', version: 1})
    expect(r.promoted).toBeUndefined()
    const low = await autoRegister(store.store, await makeRun(store.home, {valAcc: 0.6}), {
      registerAt: 0.5,
      stageAt: 0.55,
      model: 'exp',
    })
    expect(low.promoted).toMatchObject({version: 2, to: 'Staging'})
    // a later manual promotion of the same version is a no-op, not an archive of itself
    expect(await promote(store.store, {model: 'exp', version: 2, stage: 'Staging'})).toMatchObject({noop: true})
  })
})
