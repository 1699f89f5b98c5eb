import {Counter, Gauge, Histogram, type Registry} from 'prom-client'
import type {SeedState} from '../model/seeds.js'
import type {RunEvent, RunStatus} from '../tracking/types.js'
import type {EpochMetrics, Phase} from '../training/types.js'

/**
 * The gauges and counters of one training run, for `morpho train --metrics-port`. Every
 * series carries `run` (the run id), so runs scraped one after another never mix. The
 * original defined most of its training series and emitted almost none of them; here every
 * series a dashboard or an alert reads is set at start() or from the first epoch on.
 */

export const PHASES: readonly Phase[] = ['warm_up', 'adaptation']
export const LOSS_SPLITS = ['train', 'val'] as const

/** Numeric seed states, as the original's dashboards mapped them. */
export const SEED_STATE_VALUE: Record<SeedState, number> = {dormant: 0, training: 1, blending: 2, active: 3}

/** Seconds per epoch: from a tiny problem on a fast backend to a large one on the CPU backend. */
export const EPOCH_DURATION_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]

export interface TrainingRunInfo {
  runId: string
  problem: string
  /** The TF.js backend that ran (tensorflow, wasm, cpu). */
  backend: string
  /** The controller's patience: plateau epochs before a seed germinates. */
  patience: number
  /** Every seed id, in seed order. */
  seeds: string[]
}

export class TrainingMetrics {
  private readonly info: Gauge<'run' | 'problem' | 'backend'>
  private readonly epochGauge: Gauge<'run'>
  private readonly epochs: Counter<'run' | 'phase'>
  private readonly phase: Gauge<'run' | 'phase'>
  private readonly loss: Gauge<'run' | 'split'>
  private readonly valAccuracy: Gauge<'run'>
  private readonly bestValAccuracy: Gauge<'run'>
  private readonly seedState: Gauge<'run' | 'seed'>
  private readonly seedAlpha: Gauge<'run' | 'seed'>
  private readonly seedDrift: Gauge<'run' | 'seed'>
  private readonly germinations: Counter<'run'>
  private readonly plateau: Gauge<'run'>
  private readonly patience: Gauge<'run'>
  private readonly epochDuration: Histogram<'run'>
  private readonly lastEpoch: Gauge<'run'>
  private readonly running: Gauge<'run'>
  private run?: string

  constructor(
    readonly registry: Registry,
    private readonly now: () => number = Date.now,
  ) {
    const registers = [registry]
    this.info = new Gauge({
      name: 'morpho_train_info',
      help: 'Always 1; its labels describe the run.',
      labelNames: ['run', 'problem', 'backend'] as const,
      registers,
    })
    this.epochGauge = new Gauge({
      name: 'morpho_train_epoch',
      help: 'The last completed epoch (1-based, counted across both phases).',
      labelNames: ['run'] as const,
      registers,
    })
    this.epochs = new Counter({
      name: 'morpho_train_epochs_total',
      help: 'Epochs completed, by phase.',
      labelNames: ['run', 'phase'] as const,
      registers,
    })
    this.phase = new Gauge({
      name: 'morpho_train_phase',
      help: '1 for the phase the run is in, 0 for the other.',
      labelNames: ['run', 'phase'] as const,
      registers,
    })
    this.loss = new Gauge({
      name: 'morpho_train_loss',
      help: 'Mean cross-entropy of the last epoch, on the training or the validation split.',
      labelNames: ['run', 'split'] as const,
      registers,
    })
    this.valAccuracy = new Gauge({
      name: 'morpho_train_val_accuracy',
      help: 'Validation accuracy (0-1) after the last epoch.',
      labelNames: ['run'] as const,
      registers,
    })
    this.bestValAccuracy = new Gauge({
      name: 'morpho_train_best_val_accuracy',
      help: 'Best validation accuracy (0-1) so far in the run.',
      labelNames: ['run'] as const,
      registers,
    })
    this.seedState = new Gauge({
      name: 'morpho_train_seed_state',
      help: 'Seed lifecycle state: 0 dormant, 1 training, 2 blending, 3 active.',
      labelNames: ['run', 'seed'] as const,
      registers,
    })
    this.seedAlpha = new Gauge({
      name: 'morpho_train_seed_alpha',
      help: "Seed blend factor (0-1): how much of the seed's output is mixed in.",
      labelNames: ['run', 'seed'] as const,
      registers,
    })
    this.seedDrift = new Gauge({
      name: 'morpho_train_seed_drift',
      help: "Seed interface drift: 1 - cosine similarity of the seed's input and output.",
      labelNames: ['run', 'seed'] as const,
      registers,
    })
    this.germinations = new Counter({
      name: 'morpho_train_germinations_total',
      help: 'Seeds germinated by the controller.',
      labelNames: ['run'] as const,
      registers,
    })
    this.plateau = new Gauge({
      name: 'morpho_train_plateau_epochs',
      help: 'Epochs since validation loss last improved.',
      labelNames: ['run'] as const,
      registers,
    })
    this.patience = new Gauge({
      name: 'morpho_train_patience_epochs',
      help: 'Plateau epochs the controller waits before it germinates a seed.',
      labelNames: ['run'] as const,
      registers,
    })
    this.epochDuration = new Histogram({
      name: 'morpho_train_epoch_duration_seconds',
      help: 'Wall time of one epoch, training and validation.',
      labelNames: ['run'] as const,
      buckets: EPOCH_DURATION_BUCKETS,
      registers,
    })
    this.lastEpoch = new Gauge({
      name: 'morpho_train_last_epoch_timestamp_seconds',
      help: 'Unix time of the last completed epoch (of the start, before the first).',
      labelNames: ['run'] as const,
      registers,
    })
    this.running = new Gauge({
      name: 'morpho_train_running',
      help: '1 while the run is training, 0 once it has ended.',
      labelNames: ['run'] as const,
      registers,
    })
  }

  start(info: TrainingRunInfo): void {
    const run = info.runId
    this.run = run
    this.info.set({run, problem: info.problem, backend: info.backend}, 1)
    this.epochGauge.set({run}, 0)
    for (const phase of PHASES) {
      this.epochs.inc({run, phase}, 0)
      this.phase.set({run, phase}, phase === 'warm_up' ? 1 : 0)
    }
    // Losses and accuracies appear with the first epoch: any value before it would be made up
    // (0 reads as a terrible accuracy, NaN as an exploded loss).
    for (const seed of info.seeds) {
      this.seedState.set({run, seed}, SEED_STATE_VALUE.dormant)
      this.seedAlpha.set({run, seed}, 0)
      this.seedDrift.set({run, seed}, 0)
    }
    this.germinations.inc({run}, 0)
    this.plateau.set({run}, 0)
    this.patience.set({run}, info.patience)
    this.epochDuration.zero({run})
    // From the start, so a run stuck before its first epoch is seen as stalled too.
    this.lastEpoch.set({run}, this.now() / 1000)
    this.running.set({run}, 1)
  }

  epoch(m: EpochMetrics): void {
    const run = this.requireRun()
    this.epochGauge.set({run}, m.epoch)
    this.epochs.inc({run, phase: m.phase})
    this.setPhase(run, m.phase)
    this.loss.set({run, split: 'train'}, m.train_loss)
    this.loss.set({run, split: 'val'}, m.val_loss)
    this.valAccuracy.set({run}, m.val_acc)
    this.bestValAccuracy.set({run}, m.best_val_acc)
    this.plateau.set({run}, m.plateau)
    for (const s of m.seed_states) {
      this.seedState.set({run, seed: s.id}, SEED_STATE_VALUE[s.state])
      this.seedAlpha.set({run, seed: s.id}, s.alpha)
      // Drift is measured only while a seed blends or is active; otherwise the last value stands.
      if (s.drift !== undefined) this.seedDrift.set({run, seed: s.id}, s.drift)
    }
    this.epochDuration.observe({run}, m.seconds)
    this.lastEpoch.set({run}, this.now() / 1000)
  }

  event(e: RunEvent): void {
    const run = this.requireRun()
    switch (e.type) {
      case 'phase':
        this.setPhase(run, e.to)
        break
      case 'germination':
        this.germinations.inc({run})
        break
      case 'seed_state':
        this.seedState.set({run, seed: e.seed}, SEED_STATE_VALUE[e.to])
        break
      case 'drift_warning':
        this.seedDrift.set({run, seed: e.seed}, e.drift)
        break
      case 'status':
        if (e.status !== 'running') this.end(e.status)
        break
    }
  }

  end(status: RunStatus): void {
    const run = this.requireRun()
    this.running.set({run}, status === 'running' ? 1 : 0)
  }

  private setPhase(run: string, current: Phase): void {
    for (const phase of PHASES) this.phase.set({run, phase}, phase === current ? 1 : 0)
  }

  private requireRun(): string {
    if (this.run === undefined) throw new Error('TrainingMetrics.start() must be called before the run reports')
    return this.run
  }
}
