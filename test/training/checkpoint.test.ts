import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {MorphoNet} from '../../src/model/network.js'
import {loadModelFiles} from '../../src/model/serialize.js'
import {FolderStore} from '../../src/store/folder/folder-store.js'
import type {Tf} from '../../src/tf/backend.js'
import {trainRun} from '../../src/tracking/tracked-run.js'
import {ScoringSet, score} from '../../src/training/evaluate.js'
import {resolveTrainOptions} from '../../src/training/options.js'
import {prepareData} from '../../src/training/prepare.js'
import {tempDir} from '../helpers/cli.js'
import {testTf} from '../helpers/tf.js'

// A high rate on few rows: val_loss is lowest early and rises after, so the best epoch is not the last.
const OVERFITTING = {
  problem: 'moons',
  moonNoise: 0.3,
  samples: 200,
  hiddenDim: 32,
  numLayers: 2,
  lr: 0.05,
  warmUpEpochs: 25,
  adaptationEpochs: 0,
  batchSize: 16,
}

describe('the saved checkpoint', () => {
  let tf: Tf
  let backend: 'wasm' | 'cpu'
  let dir: {path: string; cleanup: () => Promise<void>}
  beforeAll(async () => {
    const loaded = await testTf()
    tf = loaded.tf
    // Trained and scored on the same backend.
    backend = loaded.backend.name as 'wasm' | 'cpu'
    dir = await tempDir()
  })
  afterAll(() => dir.cleanup())

  it('is the best epoch’s model: reloaded from disk, it scores that epoch’s val_loss again', async () => {
    const store = new FolderStore(dir.path)
    const options = resolveTrainOptions(OVERFITTING)
    const run = await trainRun({options, store, backend, morphoVersion: '0.0.0-test'})
    const s = run.summary
    expect(s.selected_epoch).toBe(s.best_epoch)
    expect(s.selected_epoch).toBeLessThan(s.final_epoch)
    expect(s.final_val_loss).toBeGreaterThan(s.val_loss)

    // The model folder, read back as `morpho serve` reads it, on the run's own validation rows.
    const loaded = await loadModelFiles(store.paths.runModelDir(run.runId))
    const net = MorphoNet.fromWeights(tf, loaded.file.architecture, loaded.file.seeds, loaded.weights, {
      blendSteps: options.blendSteps,
      progressThresh: options.progressThresh,
    })
    const {data} = await prepareData(options)
    const val = new ScoringSet(tf, data.valX, data.valY, data.nVal, data.features)
    const again = await score(tf, net, val)
    val.dispose()
    net.dispose()
    expect(Math.abs(again.loss - s.val_loss)).toBeLessThan(1e-6)
    expect(again.acc).toBe(s.val_acc)
  })
})
