import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {FolderStore} from '../../src/store/folder/folder-store.js'
import {trainRun} from '../../src/tracking/tracked-run.js'
import {resolveTrainOptions} from '../../src/training/options.js'
import {tempDir} from '../helpers/cli.js'

/**
 * The abort signal is checked in each phase of a run, not only between batches: an abort that
 * arrives while the last epoch is recorded (so during the save that follows) still marks the
 * run interrupted, and an abort during training stops it before the next batch. (The built
 * CLI's signal tests are in test/limits.integration.test.ts; these phases are too short to hit
 * with a real signal reliably.)
 */

const TINY = {samples: 120, hiddenDim: 8, numLayers: 2, warmUpEpochs: 2, adaptationEpochs: 1, batchSize: 32}

describe('a tracked run and its abort signal', () => {
  let home: {path: string; cleanup: () => Promise<void>}
  let store: FolderStore
  beforeEach(async () => {
    home = await tempDir()
    store = new FolderStore(home.path)
  })
  afterEach(() => home.cleanup())

  const run = (abortAt: (epoch: number) => boolean) => {
    const abort = new AbortController()
    const promise = trainRun({
      options: resolveTrainOptions(TINY),
      store,
      backend: 'wasm',
      morphoVersion: 'test',
      signal: abort.signal,
      observers: [{epoch: (m) => (abortAt(m.epoch) ? abort.abort() : undefined)}],
    })
    return promise.then(
      () => {
        throw new Error('expected the run to be interrupted')
      },
      (err: {code: string; message: string; details: {run: string}}) => err,
    )
  }

  it('an abort after the last epoch, while the model is saved, marks the run interrupted', async () => {
    const err = await run((epoch) => epoch === 3)
    expect(err.code).toBe('INTERRUPTED')
    expect(err.message).toMatch(
      /^Training interrupted while saving the model, after 3 epochs; run \S+ is marked interrupted$/,
    )
    const record = await store.runs.get(err.details.run)
    expect(record.status).toBe('interrupted')
    expect(record.summary?.epochs).toBe(3)
    expect(record.model).toBeUndefined()
  })

  it('an abort during an epoch stops the run before the next one', async () => {
    const err = await run((epoch) => epoch === 1)
    expect(err.message).toMatch(/^Training interrupted after 1 epochs; run \S+ is marked interrupted$/)
    expect((await store.runs.get(err.details.run)).status).toBe('interrupted')
  })
})
