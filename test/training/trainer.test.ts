import {readFileSync} from 'node:fs'
import {beforeAll, describe, expect, it} from 'vitest'
import {Rng} from '../../src/data/rng.js'
import type {Tf} from '../../src/tf/backend.js'
import {OPTION_BY_FLAG, resolveTrainOptions} from '../../src/training/options.js'
import {Trainer} from '../../src/training/trainer.js'
import type {EpochMetrics, TrainingEvent} from '../../src/training/types.js'
import {blobs, testTf} from '../helpers/tf.js'

const tiny = (over: Record<string, unknown> = {}) =>
  resolveTrainOptions({
    hiddenDim: 8,
    numLayers: 2,
    seedsPerLayer: 1,
    batchSize: 16,
    warmUpEpochs: 2,
    adaptationEpochs: 4,
    patience: 1,
    accThreshold: 1,
    progressThresh: 0.02,
    blendSteps: 3,
    // The original's rule: these tests walk the phases and the seed lifecycle on a fixed schedule.
    controller: 'plateau',
    ...over,
  })

describe('Trainer', () => {
  let tf: Tf
  beforeAll(async () => {
    tf = (await testTf()).tf
  })

  async function train(over: Record<string, unknown> = {}, seed = 3) {
    const events: TrainingEvent[] = []
    const epochs: EpochMetrics[] = []
    const trainer = new Trainer(tf, blobs(64, 3), tiny(over), new Rng(seed))
    const result = await trainer.run({onEpoch: (m) => void epochs.push(m), onEvent: (e) => void events.push(e)})
    trainer.dispose()
    return {trainer, result, events, epochs}
  }

  it('runs the two phases, reports every epoch, and summarises with val_acc', async () => {
    const {result, events, epochs} = await train()
    expect(epochs.map((m) => m.phase)).toEqual([
      'warm_up',
      'warm_up',
      'adaptation',
      'adaptation',
      'adaptation',
      'adaptation',
    ])
    expect(events.filter((e) => e.type === 'phase').map((e) => (e as {to: string}).to)).toEqual([
      'warm_up',
      'adaptation',
    ])
    // The summary's val_acc is the saved checkpoint's; the last epoch's is beside it.
    const selected = epochs.find((m) => m.epoch === result.summary.selected_epoch)!
    expect(result.summary.val_acc).toBe(selected.val_acc)
    expect(result.summary.final_val_acc).toBe(epochs.at(-1)!.val_acc)
    expect(result.summary.epochs).toBe(6)
    expect(result.summary.val_acc).toBeGreaterThanOrEqual(0)
    expect(Number.isFinite(result.summary.val_loss)).toBe(true)
    result.net.dispose()
  })

  it('trains something in phase 2: the validation loss moves while the backbone is frozen', async () => {
    // No germination (patience beyond the run), so phase 2 trains only the output layer.
    const {result, epochs} = await train({patience: 100, adaptationEpochs: 5})
    const adapt = epochs.filter((m) => m.phase === 'adaptation').map((m) => m.val_loss)
    expect(new Set(adapt).size).toBeGreaterThan(1)
    expect(epochs.filter((m) => m.phase === 'adaptation').every((m) => m.train_loss > 0)).toBe(true)
    result.net.dispose()
  })

  it('germinates on a plateau, then walks the seed through its lifecycle with events', async () => {
    const {result, events, epochs} = await train({adaptationEpochs: 6, delta: 10})
    const germinations = events.filter((e) => e.type === 'germination')
    expect(germinations.length).toBeGreaterThanOrEqual(1)
    const first = germinations[0] as Extract<TrainingEvent, {type: 'germination'}>
    expect(first.plateau).toBeGreaterThanOrEqual(1)
    const transitions = events
      .filter(
        (e): e is Extract<TrainingEvent, {type: 'seed_state'}> => e.type === 'seed_state' && e.seed === first.seed,
      )
      .map((e) => `${e.from}>${e.to}`)
    expect(transitions).toEqual(['dormant>training', 'training>blending', 'blending>active'])
    expect(result.summary.seeds_germinated).toBe(germinations.length)
    // Every germination's own dip, read against the epoch metrics; the top-level fields are the deepest one's.
    const effects = result.summary.germinations!
    const grown = germinations as Extract<TrainingEvent, {type: 'germination'}>[]
    expect(effects.map((g) => [g.seed, g.epoch])).toEqual(grown.map((e) => [e.seed, e.epoch]))
    for (const g of effects) {
      const before = epochs.find((m) => m.epoch === g.epoch)!
      const after = epochs.find((m) => m.epoch === g.epoch + 1)
      expect(g.acc_pre).toBe(before.val_acc)
      expect(g.acc_post).toBe(after?.val_acc)
      if (after) expect(g.accuracy_dip).toBeCloseTo(before.val_acc - after.val_acc, 12)
    }
    const dips = effects.map((g) => g.accuracy_dip).filter((d) => d !== undefined)
    if (dips.length > 0) expect(result.summary.accuracy_dip).toBe(Math.max(...dips))
    expect(effects.map((g) => g.acc_pre)).toContain(result.summary.acc_pre)
    result.net.dispose()
  })

  it('is deterministic: the same seed gives identical metrics, another seed does not', async () => {
    const strip = (ms: EpochMetrics[]) => ms.map(({seconds: _s, ...m}) => m)
    const a = await train({}, 5)
    const b = await train({}, 5)
    const c = await train({}, 6)
    expect(strip(b.epochs)).toEqual(strip(a.epochs))
    expect(strip(c.epochs)).not.toEqual(strip(a.epochs))
    for (const r of [a, b, c]) r.result.net.dispose()
  })

  it('leaks no tensors across training steps and evaluation, in both phases and while seeds grow', async () => {
    const trainer = new Trainer(tf, blobs(48, 3), tiny({warmUpEpochs: 1, adaptationEpochs: 10}), new Rng(2))
    await trainer.trainEpoch(1)
    const afterFirst = tf.memory()
    await trainer.trainEpoch(1)
    await trainer.evaluate()
    trainer.layerHealth()
    expect(tf.memory().numTensors).toBe(afterFirst.numTensors)
    // The step's own buffers (kernel-step.ts) are the backend's, not tensors: count those too.
    expect(tf.memory().numDataBuffers).toBe(afterFirst.numDataBuffers)

    await trainer.trainEpoch(2)
    const grown = trainer.germinate(2)
    expect(grown).toBeDefined()
    // Germination adds the seed's four variables; its optimiser adds state on first use.
    await trainer.trainEpoch(2)
    const phase2 = tf.memory()
    for (let i = 0; i < 3; i++) await trainer.trainEpoch(2)
    await trainer.evaluate()
    trainer.seedDrift(grown!.seed)
    expect(grown!.seed.life.state).toBe('active')
    // Blending → active adds the seed to the live step; its Adam moments already exist.
    expect(tf.memory().numTensors).toBe(phase2.numTensors)
    expect(tf.memory().numDataBuffers).toBe(phase2.numDataBuffers)
    trainer.dispose()
    trainer.net.dispose()
  })

  it('stops between steps when asked and says so', async () => {
    let polls = 0
    const trainer = new Trainer(tf, blobs(64, 3), tiny({warmUpEpochs: 3}), new Rng(1))
    const result = await trainer.run({shouldStop: () => ++polls > 6})
    expect(result.stopped).toBe(true)
    expect(result.history.length).toBeLessThan(3)
    trainer.dispose()
    trainer.net.dispose()
  })

  it('saves the epoch with the lowest val_loss, seed states included, and its weights score the same again', async () => {
    // A high rate on tiny data: val_loss is lowest early, then rises as the network over-fits.
    const {trainer, result, epochs} = await train({hiddenDim: 16, warmUpEpochs: 12, lr: 0.1, patience: 100})
    const best = epochs.reduce((a, b) =>
      b.val_loss < a.val_loss || (b.val_loss === a.val_loss && b.val_acc > a.val_acc) ? b : a,
    )
    const s = result.summary
    expect(s.selected_epoch).toBe(best.epoch)
    expect(s.selected_epoch).toBeLessThan(s.final_epoch)
    expect([s.val_loss, s.val_acc, s.train_loss]).toEqual([best.val_loss, best.val_acc, best.train_loss])
    expect([s.best_epoch, s.best_val_loss]).toEqual([best.epoch, best.val_loss])
    expect([s.final_val_loss, s.final_val_acc]).toEqual([epochs.at(-1)!.val_loss, epochs.at(-1)!.val_acc])
    const checkpoint = result.checkpoint!
    expect(checkpoint.seeds.map((x) => x.state)).toEqual(best.seed_states.map((x) => x.state))
    // Rebuilt from the saved weights, the checkpoint scores the validation rows as it did then.
    const data = blobs(64, 3)
    const again = await trainer.scoreCheckpoint(checkpoint, {x: data.valX, y: data.valY, n: data.nVal})
    expect(Math.abs(again.loss - best.val_loss)).toBeLessThan(1e-6)
    expect(again.acc).toBe(best.val_acc)
    result.net.dispose()
  })

  it('keeps the last epoch with --checkpoint last', async () => {
    const {result, epochs} = await train({hiddenDim: 16, warmUpEpochs: 12, lr: 0.1, patience: 100, checkpoint: 'last'})
    expect(result.summary.selected_epoch).toBe(epochs.at(-1)!.epoch)
    expect(result.summary.val_loss).toBe(epochs.at(-1)!.val_loss)
    expect(result.summary.best_epoch).toBeLessThan(result.summary.selected_epoch)
    result.net.dispose()
  })

  it('skips phase 2 when no seed can germinate, and says so', async () => {
    const {result, events, epochs} = await train({seedsPerLayer: 0})
    expect(epochs.map((m) => m.phase)).toEqual(['warm_up', 'warm_up'])
    const skipped = events.find((e) => e.type === 'phase_skipped') as Extract<TrainingEvent, {type: 'phase_skipped'}>
    expect(skipped).toMatchObject({epoch: 3, phase: 'adaptation', reason: 'the network has no seeds'})
    expect(events.some((e) => e.type === 'phase' && e.to === 'adaptation')).toBe(false)
    expect(result.summary).toMatchObject({adaptation_epochs: 0, ended: 'phase 2 skipped: the network has no seeds'})
    result.net.dispose()
  })

  it('stops early in phase 2 only, after --early-stop epochs without a lower val_loss', async () => {
    // val_loss is lowest at epoch 4 of a 12-epoch warm-up; warm-up still runs to its end.
    const {result, events, epochs} = await train({
      hiddenDim: 16,
      warmUpEpochs: 12,
      adaptationEpochs: 20,
      lr: 0.1,
      patience: 100,
      earlyStop: 3,
    })
    const stop = events.find((e) => e.type === 'early_stop') as Extract<TrainingEvent, {type: 'early_stop'}>
    expect(stop).toMatchObject({epoch: 15, patience: 3, best_epoch: result.summary.best_epoch})
    expect(epochs.at(-1)!.epoch).toBe(15)
    expect(result.summary.ended).toMatch(/^early stop: /)
    result.net.dispose()
  })

  it('trains the backbone again after the first germination, at --joint-lr-scale × --lr (0: frozen)', async () => {
    const backboneAfter = async (jointLrScale: number) => {
      const trainer = new Trainer(tf, blobs(64, 3), tiny({adaptationEpochs: 6, delta: 10, jointLrScale}), new Rng(3))
      const first = trainer.net.hidden[0]!.kernel
      let atGermination: Float32Array | undefined
      await trainer.run({
        onEvent: (e) => {
          if (e.type === 'germination') atGermination = first.dataSync().slice() as Float32Array
        },
      })
      const moved = atGermination ? Math.max(...first.dataSync().map((v, i) => Math.abs(v - atGermination![i]!))) : 0
      trainer.dispose()
      trainer.net.dispose()
      return {germinated: atGermination !== undefined, moved}
    }
    const joint = await backboneAfter(0.1)
    const frozen = await backboneAfter(0)
    expect(joint.germinated && frozen.germinated).toBe(true)
    expect(joint.moved).toBeGreaterThan(0)
    expect(frozen.moved).toBe(0)
  })

  it("runs the original's schedule from the README's flags: StepLR, the plateau rule, a frozen backbone, the last epoch", async () => {
    // The flags README gives for the original's behaviour, read from the README itself.
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
    const line = /The original's values stay reachable: `([^`]+)`/.exec(readme.replace(/\n/g, ' '))
    expect(line).not.toBeNull()
    const words = line![1]!.split(/\s+/)
    const given: Record<string, unknown> = {}
    for (let i = 0; i < words.length; i += 2) given[OPTION_BY_FLAG.get(words[i]!.slice(2))!.key] = words[i + 1]
    const original = resolveTrainOptions(given)
    expect(original).toMatchObject({
      warmUpEpochs: 50,
      adaptationEpochs: 200,
      hiddenDim: 128,
      lrStep: 20,
      delta: 5e-4,
      controller: 'plateau',
      accThreshold: 0.95,
      jointLrScale: 0,
      checkpoint: 'last',
    })
    // The same schedule on a small network and hard data (val_acc stays below 0.95).
    const options = resolveTrainOptions({...given, hiddenDim: 8, numLayers: 2, batchSize: 32, blendSteps: 3})
    const data = blobs(64, 3, 5)
    const trainer = new Trainer(tf, data, options, new Rng(3))
    const first = trainer.net.hidden[0]!.kernel
    const epochs: EpochMetrics[] = []
    const events: TrainingEvent[] = []
    let atWarmUpEnd: Float32Array | undefined
    const result = await trainer.run({
      onEpoch: (m) => {
        epochs.push(m)
        if (m.epoch === 50) atWarmUpEnd = first.dataSync().slice() as Float32Array
      },
      onEvent: (e) => void events.push(e),
    })
    // StepLR(20, 0.1) in each phase; phase 2 starts at 0.1 × --lr.
    for (const [epoch, scale] of [
      [20, 1],
      [21, 0.1],
      [41, 0.01],
      [51, 0.1],
      [71, 0.01],
    ] as const) {
      expect(trainer.lrFor(epoch)).toBeCloseTo(3e-3 * scale, 12)
    }
    expect(events.some((e) => e.type === 'phase_skipped')).toBe(false)
    const germinations = events.filter((e) => e.type === 'germination') as Extract<
      TrainingEvent,
      {type: 'germination'}
    >[]
    expect(germinations.length).toBeGreaterThan(0)
    // The plateau rule: no germination before --patience phase-2 epochs without a better loss.
    expect(germinations[0]!.epoch).toBeGreaterThanOrEqual(50 + 15)
    expect(first.dataSync()).toEqual(atWarmUpEnd)
    expect(result.summary.selected_epoch).toBe(epochs.at(-1)!.epoch)
    trainer.dispose()
    result.net.dispose()
  })

  it('uses the learning-rate schedule per phase', () => {
    const trainer = new Trainer(
      tf,
      blobs(16, 3),
      tiny({warmUpEpochs: 40, lr: 0.01, lrStep: 20, lrGamma: 0.1, adaptationLrScale: 0.1}),
      new Rng(1),
    )
    expect(trainer.lrFor(1)).toBeCloseTo(0.01)
    expect(trainer.lrFor(21)).toBeCloseTo(0.001)
    expect(trainer.lrFor(41)).toBeCloseTo(0.001)
    expect(trainer.lrFor(61)).toBeCloseTo(0.0001)
    trainer.dispose()
    trainer.net.dispose()
  })
})
