import type {DataSource} from '../training/prepare.js'
import type {TrainingEvent, TrainSummary} from '../training/types.js'

/**
 * What a training run leaves in the store, in its folder runs/<id>/:
 *   run.json       RunRecord
 *   metrics.jsonl  one EpochMetrics per line
 *   events.jsonl   one RunEvent per line
 *   model/         model.json + weights.bin (see model/model-file.ts)
 * The registry consumes a completed RunRecord and its model folder.
 */

export const RUN_SCHEMA_VERSION = 1

export const RUN_STATUSES = ['running', 'completed', 'interrupted', 'failed', 'abandoned'] as const
export type RunStatus = (typeof RUN_STATUSES)[number]

/** events.jsonl: what the training loop reported, and the run's own status changes. */
export type RunEvent =
  | TrainingEvent
  | {type: 'status'; epoch: number; status: RunStatus; message?: string; time: string}

export interface RunRecord {
  schemaVersion: number
  id: string
  status: RunStatus
  problem: string
  data: DataSource
  /** Every training flag, resolved (defaults applied), in camelCase. */
  params: Record<string, unknown>
  seed: number
  /** `threads`: how many the training step may use (2: the cpu step's second thread for large products). */
  backend: {name: string; requested: string; tfjsVersion: string; simd?: boolean; threads?: number}
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
