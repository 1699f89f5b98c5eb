import {writeFile} from 'node:fs/promises'
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
import type {StorePaths} from '../../src/store/paths.js'
import {tamper} from '../helpers/runs.js'
import {newStore, registerRuns, rejection} from './helpers/store.js'

let store: Awaited<ReturnType<typeof newStore>>
let paths: StorePaths
beforeEach(async () => {
  store = await newStore()
  paths = store.paths
})
afterEach(() => store.cleanup())

const stages = async () =>
  Object.fromEntries((await readRegistry(paths)).models.spirals!.versions.map((v) => [v.version, v.stage]))

describe('promote', () => {
  it('archives the previous holder of the stage, in one write, and says so in the history', async () => {
    await registerRuns(paths, [0.8, 0.9, 0.95])
    await promote(paths, {version: 1, stage: 'Production'})
    const result = await promote(paths, {version: 2, stage: 'Production', reason: 'better on holdout'})
    expect(result).toMatchObject({
      model: 'spirals',
      version: 2,
      from: 'None',
      to: 'Production',
      noop: false,
      displaced: [{version: 1, from: 'Production', to: 'Archived'}],
    })
    expect(await stages()).toEqual({1: 'Archived', 2: 'Production', 3: 'None'})
    const [archived, promoted] = historyOf(await readRegistry(paths))
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
    const doc = await readRegistry(paths)
    expect(doc.models.spirals!.versions[1]!.promotedBy).toEqual({rule: 'manual', at: expect.any(String)})
  })

  it('treats promoting a version to the stage it is in as a no-op (the original archived it)', async () => {
    await registerRuns(paths, [0.8])
    await promote(paths, {version: 1, stage: 'Production'})
    const before = (await readRegistry(paths)).history.length
    const again = await promote(paths, {version: 1, stage: 'Production'})
    expect(again).toMatchObject({noop: true, from: 'Production', to: 'Production', displaced: []})
    expect(await stages()).toEqual({1: 'Production'})
    expect((await readRegistry(paths)).history).toHaveLength(before)
  })

  it('with --no-archive keeps other Staging holders, and sends the previous Production holder back to None', async () => {
    await registerRuns(paths, [0.8, 0.85, 0.9, 0.95])
    await promote(paths, {version: 1, stage: 'Staging'})
    await promote(paths, {version: 2, stage: 'Staging', archive: false})
    expect(await stages()).toMatchObject({1: 'Staging', 2: 'Staging'})
    await promote(paths, {version: 3, stage: 'Production'})
    const r = await promote(paths, {version: 4, stage: 'Production', archive: false})
    expect(r.displaced).toEqual([{version: 3, from: 'Production', to: 'None'}])
    expect(await stages()).toEqual({1: 'Staging', 2: 'Staging', 3: 'None', 4: 'Production'})
    // and with archiving, every other Staging holder goes
    await promote(paths, {version: 3, stage: 'Staging'})
    expect(await stages()).toEqual({1: 'Archived', 2: 'Archived', 3: 'Staging', 4: 'Production'})
  })

  it('without a version picks the best val_acc that is not Archived (and for Staging, not in Production)', async () => {
    await registerRuns(paths, [0.99, 0.8, 0.9, null])
    await promote(paths, {version: 1, stage: 'Archived'})
    const prod = await promote(paths, {stage: 'Production'})
    expect(prod.version).toBe(3)
    expect(historyOf(await readRegistry(paths))[0]!.reason).toBe('best val_acc (0.9000) among versions not Archived')
    const staging = await promote(paths, {stage: 'Staging'})
    expect(staging.version).toBe(2)
    expect(await rejection(promote(paths, {stage: 'Archived'}))).toMatchObject({code: 'USAGE'})
  })

  it('refuses to promote a version whose files do not verify, and changes nothing', async () => {
    await registerRuns(paths, [0.8])
    await tamper(paths, 'spirals', 1)
    const err = await rejection(promote(paths, {version: 1, stage: 'Production'}))
    expect(err.code).toBe('INTEGRITY')
    expect(err.message).toMatch(
      /^version spirals v1 failed verification: weights\.bin sha256 mismatch \(expected [0-9a-f]{64}, got [0-9a-f]{64}\)$/,
    )
    expect(await stages()).toEqual({1: 'None'})
    // archiving a broken version is still allowed: that is how it gets out of the way
    await expect(promote(paths, {version: 1, stage: 'Archived'})).resolves.toMatchObject({to: 'Archived'})
  })

  it('names an unknown version or model', async () => {
    await registerRuns(paths, [0.8])
    expect(await rejection(promote(paths, {version: 9, stage: 'Production'}))).toMatchObject({
      code: 'NOT_FOUND',
      message: 'spirals has no version 9 (versions 1-1)',
    })
    expect(await rejection(promote(paths, {model: 'moons', version: 1, stage: 'Production'}))).toMatchObject({
      code: 'NOT_FOUND',
      message: 'no model "moons" in the registry',
    })
  })
})

describe('best', () => {
  it('skips versions without the metric instead of counting them as 0, also when lower is better', async () => {
    await registerRuns(paths, [0.8, null, 0.9])
    const doc = await readRegistry(paths)
    const best = findBest(paths, doc, {})
    expect(best).toMatchObject({version: 3, metric: 'val_acc', value: 0.9, considered: 2, skipped: 1})
    const lowest = findBest(paths, doc, {lowerIsBetter: true})
    expect(lowest).toMatchObject({version: 1, value: 0.8, lowerIsBetter: true})
  })

  it('gives a tie to the newest version', async () => {
    await registerRuns(paths, [0.9, 0.95, 0.95, 0.7])
    expect(findBest(paths, await readRegistry(paths), {}).version).toBe(3)
    expect(findBest(paths, await readRegistry(paths), {metric: 'val_loss', lowerIsBetter: true}).version).toBe(4)
  })

  it('filters by stage, and reports nothing found as NOT_FOUND with a reason', async () => {
    await registerRuns(paths, [0.8, 0.9])
    await promote(paths, {version: 1, stage: 'Staging'})
    const doc = await readRegistry(paths)
    expect(findBest(paths, doc, {stage: 'Staging'}).version).toBe(1)
    expect(() => findBest(paths, doc, {stage: 'Production'})).toThrow(
      expect.objectContaining({code: 'NOT_FOUND', message: 'no version of spirals in stage Production'}),
    )
    expect(() => findBest(paths, doc, {metric: 'f1'})).toThrow(
      expect.objectContaining({code: 'NOT_FOUND', message: 'no version of spirals has the metric "f1"'}),
    )
  })
})

describe('production', () => {
  it('is the Production holder with its folder, verified; none is NOT_FOUND', async () => {
    await registerRuns(paths, [0.8, 0.9])
    expect(await rejection(findProduction(paths, await readRegistry(paths)))).toMatchObject({
      code: 'NOT_FOUND',
      message: 'no Production version of spirals',
    })
    await promote(paths, {version: 1, stage: 'Production'})
    await promote(paths, {version: 2, stage: 'Staging'})
    const prod = await findProduction(paths, await readRegistry(paths))
    expect(prod).toMatchObject({
      model: 'spirals',
      version: 1,
      uri: 'models:/spirals/1',
      dir: join(store.home, 'models', 'spirals', '1'),
    })
  })

  it('answers the most recently promoted version, not the highest number (the original took the highest)', async () => {
    await registerRuns(paths, [0.8, 0.9])
    await promote(paths, {version: 2, stage: 'Production'})
    await promote(paths, {version: 1, stage: 'Production'})
    expect((await findProduction(paths, await readRegistry(paths))).version).toBe(1)
  })
})

describe('rollback', () => {
  it('puts back the previous Production version and keeps going back on a second rollback', async () => {
    await registerRuns(paths, [0.8, 0.85, 0.9])
    for (const version of [1, 2, 3]) await promote(paths, {version, stage: 'Production'})
    const first = await rollback(paths)
    expect(first).toMatchObject({model: 'spirals', version: 2, from: 3, skipped: []})
    expect(await stages()).toEqual({1: 'Archived', 2: 'Production', 3: 'Archived'})
    const [archived, restored] = historyOf(await readRegistry(paths))
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

    expect((await rollback(paths)).version).toBe(1)
    expect(await stages()).toEqual({1: 'Production', 2: 'Archived', 3: 'Archived'})
    expect(await rejection(rollback(paths))).toMatchObject({
      code: 'NOT_FOUND',
      message: 'nothing to roll back to: spirals has no earlier Production version',
    })
  })

  it('passes over a previous version whose files no longer verify', async () => {
    await registerRuns(paths, [0.8, 0.85, 0.9])
    for (const version of [1, 2, 3]) await promote(paths, {version, stage: 'Production'})
    await tamper(paths, 'spirals', 2)
    const result = await rollback(paths, {reason: 'latency regression'})
    expect(result.version).toBe(1)
    expect(result.skipped).toEqual([{version: 2, reason: expect.stringContaining('weights.bin sha256 mismatch')}])
    expect(historyOf(await readRegistry(paths))[1]!.reason).toBe('latency regression (skipped v2: files do not verify)')
  })

  it('does not count a version taken out of Production by hand as one to return to', async () => {
    await registerRuns(paths, [0.8, 0.85, 0.9])
    await promote(paths, {version: 1, stage: 'Production'})
    await promote(paths, {version: 2, stage: 'Production'})
    await promote(paths, {version: 2, stage: 'Archived'})
    await promote(paths, {version: 3, stage: 'Production'})
    expect(productionStack((await readRegistry(paths)).history, 'spirals')).toEqual([1, 3])
    expect((await rollback(paths)).version).toBe(1)
  })

  it('with nothing ever in Production is NOT_FOUND', async () => {
    await registerRuns(paths, [0.8])
    expect(await rejection(rollback(paths))).toMatchObject({code: 'NOT_FOUND'})
  })
})

describe('aliases', () => {
  it('point at one version, move, show in list, resolve, and are recorded in the history', async () => {
    await registerRuns(paths, [0.8, 0.9])
    expect(await setAlias(paths, {alias: 'champion', version: 1})).toEqual({
      model: 'spirals',
      alias: 'champion',
      version: 1,
      previous: null,
      noop: false,
    })
    expect(await setAlias(paths, {alias: 'champion', version: 2})).toEqual({
      model: 'spirals',
      alias: 'champion',
      version: 2,
      previous: 1,
      noop: false,
    })
    expect(await setAlias(paths, {alias: 'champion', version: 2})).toMatchObject({noop: true})
    await setAlias(paths, {alias: 'challenger', version: 'champion'})
    const doc = await readRegistry(paths)
    expect(listVersions(paths, doc)[0]).toMatchObject({version: 2, aliases: ['challenger', 'champion']})
    expect(
      historyOf(doc)
        .slice(0, 3)
        .map((h) => [h.action, h.alias, h.from, h.to]),
    ).toEqual([
      ['alias_set', 'challenger', null, 2],
      ['alias_set', 'champion', 1, 2],
      ['alias_set', 'champion', null, 1],
    ])
    expect(await deleteAlias(paths, {alias: 'champion'})).toMatchObject({version: 2})
    expect(historyOf(await readRegistry(paths))[0]).toMatchObject({
      action: 'alias_delete',
      alias: 'champion',
      from: 2,
      to: null,
    })
    expect(await rejection(deleteAlias(paths, {alias: 'champion'}))).toMatchObject({code: 'NOT_FOUND'})
  })

  it('refuse stage names in any case, "latest", v<number>, and malformed names', async () => {
    await registerRuns(paths, [0.8])
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
      expect(await rejection(setAlias(paths, {alias, version: 1})), alias).toMatchObject({code: 'USAGE'})
    }
    expect(await rejection(setAlias(paths, {alias: 'ok', version: 5}))).toMatchObject({code: 'NOT_FOUND'})
  })

  it('resolve for loading: alias, number, "v3", stage word, latest', async () => {
    await registerRuns(paths, [0.8, 0.9, 0.7])
    await setAlias(paths, {alias: 'champion', version: 2})
    await promote(paths, {version: 1, stage: 'Production'})
    expect((await resolveModel(paths)).entry.version).toBe(1)
    expect((await resolveModel(paths, {version: 'champion'})).entry.version).toBe(2)
    expect((await resolveModel(paths, {version: parseVersionRef('v3')})).entry.version).toBe(3)
    expect((await resolveModel(paths, {version: 'latest'})).entry.version).toBe(3)
    expect((await resolveModel(paths, {version: 'production'})).entry.version).toBe(1)
    const r = await resolveModel(paths, {version: 2})
    expect(r).toMatchObject({name: 'spirals', dir: join(store.home, 'models', 'spirals', '2')})
    expect(r.manifest?.files.map((f) => f.path)).toEqual(['model.json', 'weights.bin'])
    expect(await rejection(resolveModel(paths, {stage: 'Staging'}))).toMatchObject({code: 'NOT_FOUND'})
    await tamper(paths, 'spirals', 2, 'model.json')
    expect(await rejection(resolveModel(paths, {version: 'champion'}))).toMatchObject({code: 'INTEGRITY'})
  })
})

describe('model selection', () => {
  it('needs no name with one model, and lists the names when there are several', async () => {
    await registerRuns(paths, [0.8])
    expect(selectModel(await readRegistry(paths)).name).toBe('spirals')
    await registerRuns(paths, [0.8], {problem: 'moons'})
    const doc = await readRegistry(paths)
    expect(() => selectModel(doc)).toThrow(
      expect.objectContaining({code: 'USAGE', details: {models: ['moons', 'spirals']}}),
    )
    expect(listVersions(paths, doc).map((v) => `${v.model}/${v.version}`)).toEqual(['moons/1', 'spirals/1'])
    expect(historyOf(doc, {model: 'moons'})).toHaveLength(1)
    expect(() => selectModel(doc, 'constructor')).toThrow(expect.objectContaining({code: 'NOT_FOUND'}))
  })

  it('on an empty registry: list and history are empty, everything else is NOT_FOUND', async () => {
    const doc = await readRegistry(paths)
    expect(listVersions(paths, doc)).toEqual([])
    expect(historyOf(doc)).toEqual([])
    expect(() => findBest(paths, doc)).toThrow(
      expect.objectContaining({code: 'NOT_FOUND', message: 'the registry has no models yet'}),
    )
  })
})

describe('a version folder', () => {
  it('is refused when a file is missing, added, or the manifest was rewritten to match', async () => {
    const [r] = await registerRuns(paths, [0.8])
    const dir = r!.entry.dir
    await writeFile(join(dir, 'extra.bin'), 'x')
    expect(await rejection(resolveModel(paths, {version: 1}))).toMatchObject({
      code: 'INTEGRITY',
      message: 'version spirals v1 failed verification: extra.bin is not in the manifest',
    })
  })
})
