import {Registry} from 'prom-client'
import {describe, expect, it} from 'vitest'
import {TrainingMetrics} from '../../src/monitoring/training-metrics.js'
import type {TrainingObserver} from '../../src/tracking/tracked-run.js'
import type {EpochMetrics} from '../../src/training/types.js'
import {type Family, labelNamesOf, parseExposition} from './helpers/exposition.js'

const START = {
  runId: 'spirals-20250101-abc',
  problem: 'spirals',
  backend: 'wasm',
  patience: 15,
  seeds: ['seed1_1', 'seed2_1'],
}

function epoch(overrides: Partial<EpochMetrics> = {}): EpochMetrics {
  return {
    epoch: 1,
    phase: 'warm_up',
    train_loss: 0.69,
    val_loss: 0.7,
    val_acc: 0.55,
    best_val_acc: 0.55,
    lr: 0.001,
    plateau: 0,
    seeds: {dormant: 2, training: 0, blending: 0, active: 0},
    seed_states: [
      {id: 'seed1_1', state: 'dormant', alpha: 0},
      {id: 'seed2_1', state: 'dormant', alpha: 0},
    ],
    seconds: 0.12,
    ...overrides,
  }
}

/** Every sample of the registry as "name{k=v,...}" -> value, histogram buckets left out. */
async function samples(registry: Registry): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (const family of parseExposition(await registry.metrics()).values()) {
    for (const s of family.samples) {
      if (s.name.endsWith('_bucket')) continue
      const labels = Object.entries(s.labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(',')
      out[`${s.name}{${labels}}`] = s.value
    }
  }
  return out
}

describe('TrainingMetrics', () => {
  it('registers exactly the training metrics, each with the run label', async () => {
    const registry = new Registry()
    const metrics = new TrainingMetrics(registry)
    metrics.start(START)
    metrics.epoch(epoch())

    const families = parseExposition(await registry.metrics())
    const shape = Object.fromEntries([...families.values()].map((f: Family) => [f.name, [f.type, labelNamesOf(f)]]))
    expect(shape).toEqual({
      morpho_train_info: ['gauge', ['backend', 'problem', 'run']],
      morpho_train_epoch: ['gauge', ['run']],
      morpho_train_epochs_total: ['counter', ['phase', 'run']],
      morpho_train_phase: ['gauge', ['phase', 'run']],
      morpho_train_loss: ['gauge', ['run', 'split']],
      morpho_train_val_accuracy: ['gauge', ['run']],
      morpho_train_best_val_accuracy: ['gauge', ['run']],
      morpho_train_seed_state: ['gauge', ['run', 'seed']],
      morpho_train_seed_alpha: ['gauge', ['run', 'seed']],
      morpho_train_seed_drift: ['gauge', ['run', 'seed']],
      morpho_train_germinations_total: ['counter', ['run']],
      morpho_train_plateau_epochs: ['gauge', ['run']],
      morpho_train_patience_epochs: ['gauge', ['run']],
      morpho_train_epoch_duration_seconds: ['histogram', ['run']],
      morpho_train_last_epoch_timestamp_seconds: ['gauge', ['run']],
      morpho_train_running: ['gauge', ['run']],
    })
  })

  it('at start, sets every series the alerts and dashboards read, and no made-up accuracy', async () => {
    const registry = new Registry()
    new TrainingMetrics(registry, () => 1_700_000_000_000).start(START)
    const run = `run=${START.runId}`
    expect(await samples(registry)).toEqual({
      [`morpho_train_info{${run},problem=spirals,backend=wasm}`]: 1,
      [`morpho_train_epoch{${run}}`]: 0,
      [`morpho_train_epochs_total{${run},phase=warm_up}`]: 0,
      [`morpho_train_epochs_total{${run},phase=adaptation}`]: 0,
      [`morpho_train_phase{${run},phase=warm_up}`]: 1,
      [`morpho_train_phase{${run},phase=adaptation}`]: 0,
      [`morpho_train_seed_state{${run},seed=seed1_1}`]: 0,
      [`morpho_train_seed_state{${run},seed=seed2_1}`]: 0,
      [`morpho_train_seed_alpha{${run},seed=seed1_1}`]: 0,
      [`morpho_train_seed_alpha{${run},seed=seed2_1}`]: 0,
      [`morpho_train_seed_drift{${run},seed=seed1_1}`]: 0,
      [`morpho_train_seed_drift{${run},seed=seed2_1}`]: 0,
      [`morpho_train_germinations_total{${run}}`]: 0,
      [`morpho_train_plateau_epochs{${run}}`]: 0,
      [`morpho_train_patience_epochs{${run}}`]: 15,
      [`morpho_train_epoch_duration_seconds_sum{${run}}`]: 0,
      [`morpho_train_epoch_duration_seconds_count{${run}}`]: 0,
      [`morpho_train_last_epoch_timestamp_seconds{${run}}`]: 1_700_000_000,
      [`morpho_train_running{${run}}`]: 1,
    })
  })

  it('follows the run epoch by epoch: phase, losses, accuracy, seeds, controller', async () => {
    const registry = new Registry()
    let now = 1_700_000_000_000
    const metrics = new TrainingMetrics(registry, () => now)
    metrics.start(START)
    now += 2_000
    metrics.epoch(epoch())
    metrics.event({type: 'phase', epoch: 1, from: 'warm_up', to: 'adaptation', time: 't'})
    metrics.event({
      type: 'germination',
      epoch: 2,
      seed: 'seed2_1',
      health: 0.01,
      val_loss: 0.4,
      val_acc: 0.8,
      plateau: 15,
      time: 't',
    })
    metrics.event({type: 'seed_state', epoch: 2, seed: 'seed2_1', from: 'dormant', to: 'training', time: 't'})
    now += 3_000
    metrics.epoch(
      epoch({
        epoch: 2,
        phase: 'adaptation',
        train_loss: 0.31,
        val_loss: Number.NaN,
        val_acc: 0.8,
        best_val_acc: 0.9,
        plateau: 3,
        seed_states: [
          {id: 'seed1_1', state: 'dormant', alpha: 0},
          {id: 'seed2_1', state: 'blending', alpha: 0.25, drift: 0.08},
        ],
        seconds: 0.5,
      }),
    )
    // Drift is not measured every epoch; the last measure stands.
    metrics.epoch(
      epoch({
        epoch: 3,
        phase: 'adaptation',
        seed_states: [
          {id: 'seed1_1', state: 'dormant', alpha: 0},
          {id: 'seed2_1', state: 'active', alpha: 1},
        ],
      }),
    )

    const run = `run=${START.runId}`
    const s = await samples(registry)
    expect(s).toMatchObject({
      [`morpho_train_epoch{${run}}`]: 3,
      [`morpho_train_epochs_total{${run},phase=warm_up}`]: 1,
      [`morpho_train_epochs_total{${run},phase=adaptation}`]: 2,
      [`morpho_train_phase{${run},phase=warm_up}`]: 0,
      [`morpho_train_phase{${run},phase=adaptation}`]: 1,
      [`morpho_train_germinations_total{${run}}`]: 1,
      [`morpho_train_seed_state{${run},seed=seed1_1}`]: 0,
      [`morpho_train_seed_state{${run},seed=seed2_1}`]: 3,
      [`morpho_train_seed_alpha{${run},seed=seed2_1}`]: 1,
      [`morpho_train_seed_drift{${run},seed=seed2_1}`]: 0.08,
      [`morpho_train_epoch_duration_seconds_count{${run}}`]: 3,
      [`morpho_train_last_epoch_timestamp_seconds{${run}}`]: 1_700_000_005,
      [`morpho_train_running{${run}}`]: 1,
    })
    expect(s[`morpho_train_epoch_duration_seconds_sum{${run}}`]).toBeCloseTo(0.74)

    // The epoch before last had a NaN validation loss: it must reach the scraper as NaN.
    const registry2 = new Registry()
    const diverged = new TrainingMetrics(registry2)
    diverged.start(START)
    diverged.epoch(epoch({val_loss: Number.NaN, train_loss: Number.POSITIVE_INFINITY}))
    const d = await samples(registry2)
    expect(d[`morpho_train_loss{${run},split=val}`]).toBeNaN()
    expect(d[`morpho_train_loss{${run},split=train}`]).toBe(Number.POSITIVE_INFINITY)
  })

  it('reports the end of the run, from end() or from a status event', async () => {
    const run = `morpho_train_running{run=${START.runId}}`
    const a = new Registry()
    const ended = new TrainingMetrics(a)
    ended.start(START)
    ended.end('completed')
    expect((await samples(a))[run]).toBe(0)

    const b = new Registry()
    const failed = new TrainingMetrics(b)
    failed.start(START)
    failed.event({type: 'status', epoch: 4, status: 'failed', message: 'diverged', time: 't'})
    expect((await samples(b))[run]).toBe(0)
  })

  it('plugs into the training loop as one of its observers', () => {
    // Type-level: the loop's observer interface accepts the metrics as they are.
    const observer: TrainingObserver = new TrainingMetrics(new Registry())
    observer.start?.({...START, totalEpochs: 60, warmUpEpochs: 20})
    expect(() => observer.epoch?.(epoch())).not.toThrow()
  })

  it('refuses reports before start(), which would have no run label', () => {
    const metrics = new TrainingMetrics(new Registry())
    expect(() => metrics.epoch(epoch())).toThrow(/start\(\)/)
  })
})
