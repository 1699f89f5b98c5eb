import type {SeedState} from '../model/seeds.js'

/**
 * What the training loop reports: one EpochMetrics per epoch, a TrainingEvent for each phase
 * change, germination, seed transition and drift warning, and a TrainSummary at the end.
 */

export type Phase = 'warm_up' | 'adaptation'

export interface SeedCounts {
  dormant: number
  training: number
  blending: number
  active: number
}

export interface EpochMetrics {
  epoch: number
  phase: Phase
  train_loss: number
  val_loss: number
  val_acc: number
  best_val_acc: number
  lr: number
  plateau: number
  seeds: SeedCounts
  /** Per seed: state and alpha at the end of the epoch, in seed order. */
  seed_states: {id: string; state: SeedState; alpha: number; drift?: number}[]
  seconds: number
}

export type TrainingEvent =
  | {type: 'phase'; epoch: number; from: Phase | 'init'; to: Phase; time: string}
  | {
      type: 'germination'
      epoch: number
      seed: string
      health: number
      val_loss: number
      val_acc: number
      plateau: number
      time: string
    }
  | {type: 'seed_state'; epoch: number; seed: string; from: SeedState; to: SeedState; time: string}
  | {type: 'drift_warning'; epoch: number; seed: string; drift: number; time: string}

export interface TrainSummary {
  /** val_acc at the last epoch: the model that was saved. */
  val_acc: number
  val_loss: number
  train_loss: number
  best_val_acc: number
  best_val_loss: number
  best_epoch: number
  epochs: number
  seeds_total: number
  seeds_germinated: number
  seeds_active: number
  parameters: number
  /**
   * The germination with the deepest accuracy dip (the original kept only the last one):
   * val_acc just before it and one epoch after it, their difference, and the epochs until
   * val_acc was back at acc_pre (absent if never). Every germination is in `germinations`.
   */
  acc_pre?: number
  acc_post?: number
  accuracy_dip?: number
  recovery_epochs?: number
  germinations?: GerminationEffect[]
}

/** What one germination did to validation accuracy. */
export interface GerminationEffect {
  seed: string
  epoch: number
  acc_pre: number
  acc_post?: number
  accuracy_dip?: number
  recovery_epochs?: number
}
