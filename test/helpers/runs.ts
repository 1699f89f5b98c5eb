import {randomBytes} from 'node:crypto'
import {chmod, readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {
  MODEL_FILE,
  MODEL_FORMAT,
  MODEL_FORMAT_VERSION,
  type ModelFile,
  WEIGHTS_FILE,
} from '../../src/model/model-file.js'
import {FolderStore} from '../../src/store/folder/folder-store.js'
import {StorePaths} from '../../src/store/paths.js'
import {PostgresStore} from '../../src/store/postgres/postgres-store.js'
import type {Store} from '../../src/store/store.js'
import {RUN_SCHEMA_VERSION, type RunEvent, type RunRecord, type RunStatus} from '../../src/tracking/types.js'
import type {EpochMetrics, TrainSummary} from '../../src/training/types.js'

export interface MakeRunOptions {
  id?: string
  problem?: string
  /** val_acc in the summary; null leaves it out (a run whose summary lacks val_acc). */
  valAcc?: number | null
  valLoss?: number
  status?: RunStatus
  /** false: no model folder (a run that never saved its model). */
  withModel?: boolean
  /** Extra summary fields, merged last. */
  summary?: Partial<TrainSummary> & Record<string, number>
  backend?: string
  seed?: number
}

let counter = 0

/**
 * Writes a realistic run into a store the way training leaves it (in a folder: runs/<id>/ with
 * run.json, metrics.jsonl, events.jsonl and model/, model.json + weights.bin with float32
 * weights). Returns the record. Real bytes, so the registry copies, hashes and verifies them.
 */
export async function makeRun(where: string | Store, options: MakeRunOptions = {}): Promise<RunRecord> {
  const store = typeof where === 'string' ? new FolderStore(where) : where
  const problem = options.problem ?? 'spirals'
  const id = options.id ?? `20261129-140307-${problem}-${process.pid}-${++counter}-${randomBytes(2).toString('hex')}`
  const status = options.status ?? 'completed'
  const valAcc = options.valAcc === undefined ? 0.9312 : options.valAcc

  const epochs = 4
  const metrics: EpochMetrics[] = Array.from({length: epochs}, (_, i) => ({
    epoch: i + 1,
    phase: i < 2 ? 'warm_up' : 'adaptation',
    train_loss: 0.9 - i * 0.1,
    val_loss: (options.valLoss ?? 0.21) + (epochs - 1 - i) * 0.05,
    val_acc: (valAcc ?? 0.5) - (epochs - 1 - i) * 0.01,
    best_val_acc: valAcc ?? 0.5,
    lr: 0.001,
    plateau: 0,
    seeds: {dormant: 3, training: 0, blending: 0, active: 1},
    seed_states: [{id: 'L0_S0', state: 'active', alpha: 1}],
    seconds: 0.05,
  }))
  const summary: TrainSummary = {
    val_acc: valAcc ?? 0,
    val_loss: options.valLoss ?? 0.21,
    train_loss: 0.6,
    selected_epoch: epochs,
    final_epoch: epochs,
    final_val_acc: valAcc ?? 0,
    final_val_loss: options.valLoss ?? 0.21,
    final_train_loss: 0.6,
    best_val_acc: valAcc ?? 0,
    best_val_loss: options.valLoss ?? 0.21,
    best_epoch: epochs,
    epochs,
    adaptation_epochs: 2,
    seeds_total: 4,
    seeds_germinated: 1,
    seeds_active: 1,
    parameters: 1234,
    ...options.summary,
  }
  if (valAcc === null) delete (summary as Partial<TrainSummary>).val_acc

  const now = new Date().toISOString()
  const withModel = options.withModel ?? status === 'completed'
  const record: RunRecord = {
    schemaVersion: RUN_SCHEMA_VERSION,
    id,
    status,
    problem,
    data: {kind: 'generated', problem, samples: 400, features: 2, classes: 2, train: 320, val: 80},
    params: {problem, hiddenDim: 8, numLayers: 2, seedsPerLayer: 2, lr: 0.001, batchSize: 32},
    seed: options.seed ?? 42,
    backend: {name: options.backend ?? 'cpu', requested: 'auto', tfjsVersion: '4.22.0'},
    versions: {morpho: '0.1.0', node: process.versions.node},
    createdAt: now,
    endedAt: now,
    seconds: 1.5,
    summary: status === 'completed' ? summary : undefined,
    model: withModel ? 'model' : undefined,
  }
  const events: RunEvent[] = [
    {type: 'phase', epoch: 1, from: 'init', to: 'warm_up', time: now},
    {type: 'phase', epoch: 3, from: 'warm_up', to: 'adaptation', time: now},
    {type: 'germination', epoch: 3, seed: 'L0_S0', health: 0.01, val_loss: 0.3, val_acc: 0.9, plateau: 3, time: now},
    {type: 'status', epoch: epochs, status, time: now},
  ]
  let files: Map<string, Uint8Array> | undefined
  if (withModel) {
    const shapes: [string, number[]][] = [
      ['input/kernel', [2, 8]],
      ['input/bias', [8]],
      ['output/kernel', [8, 2]],
      ['output/bias', [2]],
    ]
    const count = shapes.reduce((n, [, s]) => n + s.reduce((a, b) => a * b, 1), 0)
    const weights = new Float32Array(count).map((_, i) => Math.sin(i + (options.seed ?? 42)))
    const model: ModelFile = {
      format: MODEL_FORMAT,
      formatVersion: MODEL_FORMAT_VERSION,
      architecture: {inputDim: 2, hiddenDim: 8, numLayers: 2, seedsPerLayer: 2, numClasses: 2},
      seeds: [{id: 'L0_S0', layer: 0, state: 'active', alpha: 1}],
      scaler: {mean: [0, 0], std: [1, 1]},
      classes: [0, 1],
      problem,
      runId: id,
      createdAt: now,
      weightsManifest: [
        {paths: [WEIGHTS_FILE], weights: shapes.map(([name, shape]) => ({name, shape, dtype: 'float32' as const}))},
      ],
    }
    files = new Map([
      [MODEL_FILE, Buffer.from(`${JSON.stringify(model, null, 2)}\n`)],
      [WEIGHTS_FILE, new Uint8Array(weights.buffer)],
    ])
  }
  await store.runs.put({record, metrics, events, model: files})
  return record
}

/**
 * Flips one byte of a registered version's file (default weights.bin): what a tampered or
 * bit-rotted copy looks like, in a folder store's files or a database store's rows.
 */
export async function tamper(where: Store | StorePaths, model: string, version: number, file = 'weights.bin') {
  if (where instanceof PostgresStore) {
    const {tamperInDatabase} = await import('./stores.js')
    return tamperInDatabase(where.connectionString(), model, version, file)
  }
  if (!(where instanceof StorePaths) && !(where instanceof FolderStore))
    throw new Error(`tamper: a ${where.kind} store`)
  const paths = where instanceof StorePaths ? where : (where as FolderStore).paths
  const path = join(paths.versionDir(model, version), file)
  const bytes = await readFile(path)
  bytes[0] = (bytes[0] ?? 0) ^ 0xff
  await chmod(path, 0o644) // registered files are read-only; a tamperer would do the same
  await writeFile(path, bytes)
}
