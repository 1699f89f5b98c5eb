/**
 * What a training run leaves in the store (SPEC section 2):
 *   runs/<id>/run.json       RunRecord
 *   runs/<id>/metrics.jsonl  one EpochMetrics per line
 *   runs/<id>/events.jsonl   one RunEvent per line
 *   runs/<id>/model/         model.json + weights.bin (see model/format.ts)
 * The registry consumes a completed RunRecord and its model folder.
 */

export const RUN_SCHEMA_VERSION = 1

export type RunStatus = 'running' | 'completed' | 'interrupted' | 'failed' | 'abandoned'
export type Phase = 'warm_up' | 'adaptation'
export type SeedState = 'dormant' | 'training' | 'blending' | 'active'

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

export type RunEvent =
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
  | {type: 'status'; epoch: number; status: RunStatus; message?: string; time: string}

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

export interface DataSource {
  kind: 'generated' | 'csv'
  problem: string
  /** For csv: the absolute path and the sha256 of the file. */
  path?: string
  sha256?: string
  samples: number
  features: number
  classes: number
  train: number
  val: number
}

export interface RunRecord {
  schemaVersion: number
  id: string
  status: RunStatus
  problem: string
  data: DataSource
  /** Every training flag, resolved (defaults applied), in camelCase. */
  params: Record<string, unknown>
  seed: number
  backend: {name: string; requested: string; tfjsVersion: string; simd?: boolean}
  versions: {morpho: string; node: string}
  createdAt: string
  /** The process that ran it, to tell an abandoned 'running' record from a live one. */
  pid?: number
  host?: string
  endedAt?: string
  seconds?: number
  summary?: TrainSummary
  error?: {code: string; message: string}
  /** Relative to the run folder; present once the model has been saved. */
  model?: string
}
