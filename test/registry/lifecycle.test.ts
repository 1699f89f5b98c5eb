import {readdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {
  deleteAlias,
  findBest,
  findProduction,
  historyOf,
  listVersions,
  parseVersionRef,
  productionStack,
  promote,
  readRegistry,
  resolveModel,
  rollback,
  selectModel,
  setAlias,
} from '../../src/registry/index.js'
import type {Store} from '../../src/store/store.js'
import {modelsView} from '../../src/ui/api.js'
import {sql} from '../helpers/postgres.js'
import {tamper} from '../helpers/runs.js'
import {BACKENDS, openTestStore, type TestStore} from '../helpers/stores.js'
import {registerRuns, rejection} from './helpers/store.js'

describe.each(BACKENDS)('the registry on a %s store', (kind) => {
  let t: TestStore
  let store: Store
  beforeEach(async () => {
    t = await openTestStore(kind)
    store = t.store
  })
  afterEach(() => t.cleanup())

  const stages = async () =>
    Object.fromEntries((await readRegistry(store)).models.spirals!.versions.map((v) => [v.version, v.stage]))

  describe('promote', () => {
    it('archives the previous holder of the stage, in one write, and says so in the history', async () => {
      await registerRuns(store, [0.8, 0.9, 0.95])
      await promote(store, {version: 1, stage: 'Production'})
      const result = await promote(store, {version: 2, stage: 'Production', reason: 'better on holdout'})
      expect(result).toMatchObject({
        model: 'spirals',
        version: 2,
        from: 'None',
        to: 'Production',
        noop: false,
        displaced: [{version: 1, from: 'Production', to: 'Archived'}],
      })
      expect(await stages()).toEqual({1: 'Archived', 2: 'Production', 3: 'None'})
      const [archived, promoted] = await historyOf(store)
      expect(promoted).toMatchObject({
        action: 'transition',
        version: 2,
        from: 'None',
        to: 'Production',
        reason: 'better on holdout',
        rule: {rule: 'manual'},
      })
      expect(archived).toMatchObject({
        action: 'transition',
        version: 1,
        from: 'Production',
        to: 'Archived',
        reason: 'archived by promotion of v2 to Production',
        rule: {rule: 'displaced', by: 2},
      })
      const doc = await readRegistry(store)
      expect(doc.models.spirals!.versions[1]!.promotedBy).toEqual({rule: 'manual', at: expect.any(String)})
    })

    it('treats promoting a version to the stage it is in as a no-op (the original archived it)', async () => {
      await registerRuns(store, [0.8])
      await promote(store, {version: 1, stage: 'Production'})
      const before = (await readRegistry(store)).history.length
      const again = await promote(store, {version: 1, stage: 'Production'})
      expect(again).toMatchObject({noop: true, from: 'Production', to: 'Production', displaced: []})
      expect(await stages()).toEqual({1: 'Production'})
      expect((await readRegistry(store)).history).toHaveLength(before)
    })

    it('with --no-archive keeps other Staging holders, and sends the previous Production holder back to None', async () => {
      await registerRuns(store, [0.8, 0.85, 0.9, 0.95])
      await promote(store, {version: 1, stage: 'Staging'})
      await promote(store, {version: 2, stage: 'Staging', archive: false})
      expect(await stages()).toMatchObject({1: 'Staging', 2: 'Staging'})
      await promote(store, {version: 3, stage: 'Production'})
      const r = await promote(store, {version: 4, stage: 'Production', archive: false})
      expect(r.displaced).toEqual([{version: 3, from: 'Production', to: 'None'}])
      expect(await stages()).toEqual({1: 'Staging', 2: 'Staging', 3: 'None', 4: 'Production'})
      // and with archiving, every other Staging holder goes
      await promote(store, {version: 3, stage: 'Staging'})
      expect(await stages()).toEqual({1: 'Archived', 2: 'Archived', 3: 'Staging', 4: 'Production'})
    })

    it('after --no-archive, serve and the page name the same Staging version: the most recently promoted', async () => {
      await registerRuns(store, [0.8, 0.85])
      await promote(store, {version: 1, stage: 'Staging'})
      await promote(store, {version: 2, stage: 'Staging', archive: false})
      expect((await resolveModel(store, {stage: 'Staging'})).entry.version).toBe(2)
      expect((await modelsView(store)).models[0]!.stages).toEqual({Production: null, Staging: 2, Archived: []})
    })

    it('without a version picks the best val_acc that is not Archived (and for Staging, not in Production)', async () => {
      await registerRuns(store, [0.99, 0.8, 0.9, null])
      await promote(store, {version: 1, stage: 'Archived'})
      const prod = await promote(store, {stage: 'Production'})
      expect(prod.version).toBe(3)
      expect((await historyOf(store))[0]!.reason).toBe('best val_acc (0.9000) among versions not Archived')
      const staging = await promote(store, {stage: 'Staging'})
      expect(staging.version).toBe(2)
      expect(await rejection(promote(store, {stage: 'Archived'}))).toMatchObject({code: 'USAGE'})
    })

    it('refuses to promote a version whose files do not verify, and changes nothing', async () => {
      await registerRuns(store, [0.8])
      await tamper(store, 'spirals', 1)
      const err = await rejection(promote(store, {version: 1, stage: 'Production'}))
      expect(err.code).toBe('INTEGRITY')
      expect(err.message).toMatch(
        /^version spirals v1 failed verification: weights\.bin sha256 mismatch \(expected [0-9a-f]{64}, got [0-9a-f]{64}\)$/,
      )
      expect(await stages()).toEqual({1: 'None'})
      // archiving a broken version is still allowed: that is how it gets out of the way
      await expect(promote(store, {version: 1, stage: 'Archived'})).resolves.toMatchObject({to: 'Archived'})
    })

    it('names an unknown version or model', async () => {
      await registerRuns(store, [0.8])
      expect(await rejection(promote(store, {version: 9, stage: 'Production'}))).toMatchObject({
        code: 'NOT_FOUND',
        message: 'spirals has no version 9 (versions 1-1)',
      })
      expect(await rejection(promote(store, {model: 'moons', version: 1, stage: 'Production'}))).toMatchObject({
        code: 'NOT_FOUND',
        message: 'no model "moons" in the registry',
      })
    })
  })

  describe('best', () => {
    it('skips versions without the metric instead of counting them as 0, also when lower is better', async () => {
      await registerRuns(store, [0.8, null, 0.9])
      const best = await findBest(store, {})
      expect(best).toMatchObject({version: 3, metric: 'val_acc', value: 0.9, considered: 2, skipped: 1})
      const lowest = await findBest(store, {lowerIsBetter: true})
      expect(lowest).toMatchObject({version: 1, value: 0.8, lowerIsBetter: true})
    })

    it('gives a tie to the newest version', async () => {
      await registerRuns(store, [0.9, 0.95, 0.95, 0.7])
      expect((await findBest(store, {})).version).toBe(3)
      expect((await findBest(store, {metric: 'val_loss', lowerIsBetter: true})).version).toBe(4)
    })

    it('filters by stage, and reports nothing found as NOT_FOUND with a reason', async () => {
      await registerRuns(store, [0.8, 0.9])
      await promote(store, {version: 1, stage: 'Staging'})
      expect((await findBest(store, {stage: 'Staging'})).version).toBe(1)
      await expect(findBest(store, {stage: 'Production'})).rejects.toThrow(
        expect.objectContaining({code: 'NOT_FOUND', message: 'no version of spirals in stage Production'}),
      )
      await expect(findBest(store, {metric: 'f1'})).rejects.toThrow(
        expect.objectContaining({code: 'NOT_FOUND', message: 'no version of spirals has the metric "f1"'}),
      )
    })
  })

  describe('production', () => {
    it('is the Production holder with its folder, verified; none is NOT_FOUND', async () => {
      await registerRuns(store, [0.8, 0.9])
      expect(await rejection(findProduction(store))).toMatchObject({
        code: 'NOT_FOUND',
        message: 'no Production version of spirals',
      })
      await promote(store, {version: 1, stage: 'Production'})
      await promote(store, {version: 2, stage: 'Staging'})
      const prod = await findProduction(store)
      expect(prod).toMatchObject({
        model: 'spirals',
        version: 1,
        uri: 'models:/spirals/1',
        dir:
          kind === 'folder' ? join(t.home, 'models', 'spirals', '1') : store.registry.versionDir('spirals', prod.entry),
      })
      // The folder holds the verified files, written there by a database store.
      expect(prod.entry.dir).toBe(prod.dir)
      expect((await readdir(prod.dir)).sort()).toEqual(['manifest.json', 'model.json', 'weights.bin'])
    })

    it("leaves a database store's version folder out of the other answers: its files are rows", async () => {
      await registerRuns(store, [0.8, 0.9])
      await promote(store, {version: 1, stage: 'Production'})
      const folderOf = (v: number) => (kind === 'folder' ? join(t.home, 'models', 'spirals', String(v)) : null)
      expect((await listVersions(store)).map((v) => v.dir)).toEqual([folderOf(2), folderOf(1)])
      expect((await findBest(store)).entry.dir).toBe(folderOf(2))
      expect((await resolveModel(store, {version: 2})).dir).toBe(folderOf(2))
      expect((await resolveModel(store, {version: 2})).entry.dir).toBe(folderOf(2))
    })

    it('answers the most recently promoted version, not the highest number (the original took the highest)', async () => {
      await registerRuns(store, [0.8, 0.9])
      await promote(store, {version: 2, stage: 'Production'})
      await promote(store, {version: 1, stage: 'Production'})
      expect((await findProduction(store)).version).toBe(1)
    })
  })

  describe('rollback', () => {
    it('puts back the previous Production version and keeps going back on a second rollback', async () => {
      await registerRuns(store, [0.8, 0.85, 0.9])
      for (const version of [1, 2, 3]) await promote(store, {version, stage: 'Production'})
      const first = await rollback(store)
      expect(first).toMatchObject({model: 'spirals', version: 2, from: 3, skipped: []})
      expect(await stages()).toEqual({1: 'Archived', 2: 'Production', 3: 'Archived'})
      const [archived, restored] = await historyOf(store)
      expect(restored).toMatchObject({
        action: 'rollback',
        version: 2,
        from: 'Archived',
        to: 'Production',
        reason: 'rollback from v3',
        rule: {rule: 'rollback', from: 3},
      })
      expect(archived).toMatchObject({
        action: 'transition',
        version: 3,
        from: 'Production',
        to: 'Archived',
        reason: 'archived by rollback to v2',
      })

      expect((await rollback(store)).version).toBe(1)
      expect(await stages()).toEqual({1: 'Production', 2: 'Archived', 3: 'Archived'})
      expect(await rejection(rollback(store))).toMatchObject({
        code: 'NOT_FOUND',
        message: 'nothing to roll back to: spirals has no earlier Production version',
      })
    })

    it('passes over a previous version whose files no longer verify', async () => {
      await registerRuns(store, [0.8, 0.85, 0.9])
      for (const version of [1, 2, 3]) await promote(store, {version, stage: 'Production'})
      await tamper(store, 'spirals', 2)
      const result = await rollback(store, {reason: 'latency regression'})
      expect(result.version).toBe(1)
      expect(result.skipped).toEqual([{version: 2, reason: expect.stringContaining('weights.bin sha256 mismatch')}])
      expect((await historyOf(store))[1]!.reason).toBe('latency regression (skipped v2: files do not verify)')
    })

    it('does not count a version taken out of Production by hand as one to return to', async () => {
      await registerRuns(store, [0.8, 0.85, 0.9])
      await promote(store, {version: 1, stage: 'Production'})
      await promote(store, {version: 2, stage: 'Production'})
      await promote(store, {version: 2, stage: 'Archived'})
      await promote(store, {version: 3, stage: 'Production'})
      expect(productionStack((await readRegistry(store)).history, 'spirals')).toEqual([1, 3])
      expect((await rollback(store)).version).toBe(1)
    })

    it('with nothing ever in Production is NOT_FOUND', async () => {
      await registerRuns(store, [0.8])
      expect(await rejection(rollback(store))).toMatchObject({code: 'NOT_FOUND'})
    })
  })

  describe('aliases', () => {
    it('point at one version, move, show in list, resolve, and are recorded in the history', async () => {
      await registerRuns(store, [0.8, 0.9])
      expect(await setAlias(store, {alias: 'champion', version: 1})).toEqual({
        model: 'spirals',
        alias: 'champion',
        version: 1,
        previous: null,
        noop: false,
      })
      expect(await setAlias(store, {alias: 'champion', version: 2})).toEqual({
        model: 'spirals',
        alias: 'champion',
        version: 2,
        previous: 1,
        noop: false,
      })
      expect(await setAlias(store, {alias: 'champion', version: 2})).toMatchObject({noop: true})
      await setAlias(store, {alias: 'challenger', version: 'champion'})
      expect((await listVersions(store))[0]).toMatchObject({version: 2, aliases: ['challenger', 'champion']})
      expect((await historyOf(store)).slice(0, 3).map((h) => [h.action, h.alias, h.from, h.to])).toEqual([
        ['alias_set', 'challenger', null, 2],
        ['alias_set', 'champion', 1, 2],
        ['alias_set', 'champion', null, 1],
      ])
      expect(await deleteAlias(store, {alias: 'champion'})).toMatchObject({version: 2})
      expect((await historyOf(store))[0]).toMatchObject({
        action: 'alias_delete',
        alias: 'champion',
        from: 2,
        to: null,
      })
      expect(await rejection(deleteAlias(store, {alias: 'champion'}))).toMatchObject({code: 'NOT_FOUND'})
    })

    it('refuse stage names in any case, "latest", v<number>, and malformed names', async () => {
      await registerRuns(store, [0.8])
      for (const alias of [
        'production',
        'STAGING',
        'None',
        'archived',
        'latest',
        'v2',
        '2',
        '-x',
        'a b',
        'x'.repeat(65),
      ]) {
        expect(await rejection(setAlias(store, {alias, version: 1})), alias).toMatchObject({code: 'USAGE'})
      }
      expect(await rejection(setAlias(store, {alias: 'ok', version: 5}))).toMatchObject({code: 'NOT_FOUND'})
    })

    it('resolve for loading: alias, number, "v3", stage word, latest', async () => {
      await registerRuns(store, [0.8, 0.9, 0.7])
      await setAlias(store, {alias: 'champion', version: 2})
      await promote(store, {version: 1, stage: 'Production'})
      expect((await resolveModel(store)).entry.version).toBe(1)
      expect((await resolveModel(store, {version: 'champion'})).entry.version).toBe(2)
      expect((await resolveModel(store, {version: parseVersionRef('v3')})).entry.version).toBe(3)
      expect((await resolveModel(store, {version: 'latest'})).entry.version).toBe(3)
      expect((await resolveModel(store, {version: 'production'})).entry.version).toBe(1)
      const r = await resolveModel(store, {version: 2})
      expect(r).toMatchObject({
        name: 'spirals',
        dir: kind === 'folder' ? join(t.home, 'models', 'spirals', '2') : null,
      })
      expect(r.manifest?.files.map((f) => f.path)).toEqual(['model.json', 'weights.bin'])
      expect(await rejection(resolveModel(store, {stage: 'Staging'}))).toMatchObject({code: 'NOT_FOUND'})
      await tamper(store, 'spirals', 2, 'model.json')
      expect(await rejection(resolveModel(store, {version: 'champion'}))).toMatchObject({code: 'INTEGRITY'})
    })
  })

  describe('model selection', () => {
    it('needs no name with one model, and lists the names when there are several', async () => {
      await registerRuns(store, [0.8])
      expect(selectModel(await readRegistry(store)).name).toBe('spirals')
      await registerRuns(store, [0.8], {problem: 'moons'})
      const doc = await readRegistry(store)
      expect(() => selectModel(doc)).toThrow(
        expect.objectContaining({code: 'USAGE', details: {models: ['moons', 'spirals']}}),
      )
      expect((await listVersions(store)).map((v) => `${v.model}/${v.version}`)).toEqual(['moons/1', 'spirals/1'])
      expect(await historyOf(store, {model: 'moons'})).toHaveLength(1)
      expect(() => selectModel(doc, 'constructor')).toThrow(expect.objectContaining({code: 'NOT_FOUND'}))
    })

    it('on an empty registry: list and history are empty, everything else is NOT_FOUND', async () => {
      expect(await listVersions(store)).toEqual([])
      expect(await historyOf(store)).toEqual([])
      await expect(findBest(store)).rejects.toThrow(
        expect.objectContaining({code: 'NOT_FOUND', message: 'the registry has no models yet'}),
      )
    })
  })

  describe('a version folder', () => {
    it('is refused when a file is missing, added, or the manifest was rewritten to match', async () => {
      const [r] = await registerRuns(store, [0.8])
      if (kind === 'folder') await writeFile(join(r!.entry.dir!, 'extra.bin'), 'x')
      else {
        await sql(
          t.locator,
          "INSERT INTO version_files (model, version, path, bytes) VALUES ('spirals', 1, 'extra.bin', 'x')",
        )
      }
      expect(await rejection(resolveModel(store, {version: 1}))).toMatchObject({
        code: 'INTEGRITY',
        message: 'version spirals v1 failed verification: extra.bin is not in the manifest',
      })
    })
  })
})
