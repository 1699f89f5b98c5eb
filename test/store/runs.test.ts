import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {decodeModel} from '../../src/model/serialize.js'
import {trainRun} from '../../src/tracking/tracked-run.js'
import {resolveTrainOptions} from '../../src/training/options.js'
import {sql} from '../helpers/postgres.js'
import {makeRun} from '../helpers/runs.js'
import {BACKENDS, openTestStore, type TestStore} from '../helpers/stores.js'
import {rejection} from '../registry/helpers/store.js'

const TINY = {samples: 160, hiddenDim: 8, numLayers: 1, warmUpEpochs: 2, adaptationEpochs: 2, batchSize: 32}

describe.each(BACKENDS)('runs in a %s store', (kind) => {
  let t: TestStore
  beforeEach(async () => {
    t = await openTestStore(kind)
  })
  afterEach(() => t.cleanup())

  it('keeps what training writes: the record, every epoch, every event and the model', async () => {
    const run = await trainRun({
      options: resolveTrainOptions({...TINY, seed: 5}),
      store: t.store,
      backend: 'cpu',
      morphoVersion: 'test',
    })
    const details = await t.store.runs.details(run.runId)
    expect(details.record).toMatchObject({id: run.runId, status: 'completed', problem: 'spirals', model: 'model'})
    expect(details.record.summary?.epochs).toBe(4)
    expect(details.metrics.map((m) => m.epoch)).toEqual([1, 2, 3, 4])
    expect(details.events[0]).toMatchObject({type: 'phase', from: 'init', to: 'warm_up'})
    expect(details.events.at(-1)).toMatchObject({type: 'status', status: 'completed'})
    const files = (await t.store.runs.modelFiles(run.runId))!
    expect([...files.keys()].sort()).toEqual(['model.json', 'weights.bin'])
    expect(decodeModel(files, 'run').file.runId).toBe(run.runId)
    const {runs, skipped} = await t.store.runs.list()
    expect(runs.map((r) => r.id)).toEqual([run.runId])
    expect(skipped).toEqual([])
  })

  it('lists newest first, reports a damaged record by name, and refuses an id it already has', async () => {
    const older = await makeRun(t.store, {id: 'spirals-20260101-000000-aaaaaa'})
    await new Promise((r) => setTimeout(r, 5))
    const newer = await makeRun(t.store, {id: 'spirals-20260101-000000-bbbbbb', withModel: false})
    if (kind === 'folder') {
      await mkdir(join(t.home, 'runs', 'broken'))
      await writeFile(join(t.home, 'runs', 'broken', 'run.json'), '[]')
    } else {
      await sql(t.locator, "INSERT INTO runs (id, created_at, record) VALUES ('broken', 'x', '[]')")
    }
    const {runs, skipped} = await t.store.runs.list()
    expect(runs.map((r) => r.id)).toEqual([newer.id, older.id])
    expect(skipped).toEqual([{id: 'broken', error: 'run.json is not an object'}])
    expect(await rejection(t.store.runs.get('broken'))).toMatchObject({code: 'INTEGRITY'})
    expect(await t.store.runs.modelFiles(newer.id)).toBeUndefined()
    expect(await rejection(makeRun(t.store, {id: older.id}))).toMatchObject({code: 'CONFLICT'})
    expect(await rejection(t.store.runs.get('nope-1'))).toMatchObject({code: 'NOT_FOUND', details: {runId: 'nope-1'}})
    expect(await rejection(t.store.runs.get('../x'))).toMatchObject({code: 'USAGE'})
  })

  it('reads a running record whose process on this host is gone as abandoned', async () => {
    const run = await makeRun(t.store, {status: 'running'})
    const writer = await t.store.runs.create('spirals')
    await writer.record({
      ...run,
      id: writer.id,
      status: 'running',
      pid: 2 ** 22 + 1,
      host: (await import('node:os')).hostname(),
    })
    await writer.close()
    expect((await t.store.runs.get(writer.id)).status).toBe('abandoned')
  })
})
