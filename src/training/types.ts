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
  /** Phase 2 did not start (at the epoch it would have): the controller said growth could do nothing. */
  | {type: 'phase_skipped'; epoch: number; phase: 'adaptation'; reason: string; time: string}
  /** Phase 2 ended before its last epoch, after `epoch`: growth could do nothing more. */
  | {type: 'phase_ended'; epoch: number; phase: 'adaptation'; reason: string; time: string}
  /** --early-stop ended the run after `epoch`. */
  | {type: 'early_stop'; epoch: number; patience: number; best_epoch: number; time: string}

export interface TrainSummary {
  /** The saved model's epoch (the checkpoint): its val_acc, val_loss and train_loss. */
  val_acc: number
  val_loss: number
  train_loss: number
  selected_epoch: number
  /** The last epoch trained, next to the saved one. */
  final_epoch: number
  final_val_acc: number
  final_val_loss: number
  final_train_loss: number
  /** The highest val_acc of any epoch. */
  best_val_acc: number
  /** The lowest val_loss of any epoch, and that epoch (the checkpoint unless --checkpoint last). */
  best_val_loss: number
  best_epoch: number
  epochs: number
  /** Epochs of phase 2 that ran (0 when it was skipped). */
  adaptation_epochs: number
  /** Why the run ended before its last planned epoch: phase 2 skipped or ended, or an early stop. */
  ended?: string
  seeds_total: number
  /** Seeds that germinated during the run. */
  seeds_germinated: number
  /** Seeds active in the saved model, and its parameter count. */
  seeds_active: number
  parameters: number
  /** The saved model scored once on the held-out test set, after training: accuracy, NLL, calibration. */
  test_acc?: number
  test_loss?: number
  test_ece?: number
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
