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
import {type VersionEntry, withManifest} from '../../src/registry/index.js'
import {record, setStage} from '../../src/registry/tx.js'
import {FolderStore} from '../../src/store/folder/folder-store.js'
import {StorePaths} from '../../src/store/paths.js'
import {PostgresStore} from '../../src/store/postgres/postgres-store.js'
import type {Store} from '../../src/store/store.js'
import {RUN_SCHEMA_VERSION, type RunEvent, type RunRecord, type RunStatus} from '../../src/tracking/types.js'
import type {EpochMetrics, TrainSummary} from '../../src/training/types.js'

export interface MakeRunOptions {
  id?: string
  /** Changes the saved model's files before the run is written (to damage them, say). */
  modelFiles?: (files: Map<string, Uint8Array>) => void
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
    // A model that loads and predicts, as registering requires: the backbone of the
    // architecture below and the adapter of its one active seed.
    const shapes: [string, number[]][] = [
      ['input/kernel', [2, 8]],
      ['input/bias', [8]],
      ['hidden1/kernel', [8, 8]],
      ['hidden1/bias', [8]],
      ['hidden2/kernel', [8, 8]],
      ['hidden2/bias', [8]],
      ['output/kernel', [8, 2]],
      ['output/bias', [2]],
      ['L0_S0/w1', [8, 32]],
      ['L0_S0/b1', [32]],
      ['L0_S0/w2', [32, 8]],
      ['L0_S0/b2', [8]],
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
  if (files) options.modelFiles?.(files)
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

/** Weights of the same size, every value NaN. */
export function nanWeights(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(new Float32Array(bytes.byteLength / 4).fill(Number.NaN).buffer)
}

/**
 * Adds `files` as the model's next version without the checks registering makes, the way a
 * morpho from before registration loaded the model could let a broken one in: through the
 * store's own transaction, with a manifest that matches. Returns the version number.
 */
export async function plantVersion(
  store: Store,
  options: {model: string; runId: string; files: Map<string, Uint8Array>},
): Promise<number> {
  const {model: name, runId} = options
  const {files, manifestSha256} = withManifest(options.files, {model: name, runId, createdAt: new Date().toISOString()})
  const staged = await store.registry.stageVersion(name, files)
  const rule = {rule: 'manual'} as const
  try {
    return await store.registry.write(async (tx) => {
      let model = await tx.model(name)
      if (!model) {
        model = {name, createdAt: tx.time, nextVersion: 1, aliases: {}, versions: []}
        await tx.insertModel(model)
      }
      const version = model.nextVersion
      const entry: VersionEntry = {
        version,
        stage: 'None',
        runId,
        createdAt: tx.time,
        updatedAt: tx.time,
        description: null,
        tags: {},
        metrics: {val_acc: 0.5},
        params: {problem: name, backend: 'cpu', seed: 42},
        path: `models/${name}/${version}`,
        manifestSha256,
        registeredBy: rule,
      }
      model.versions.push(entry)
      model.nextVersion = version + 1
      await tx.insertVersion(model, entry, staged)
      await record(tx, {model: name, version, action: 'register', from: null, to: 'None', reason: 'planted', rule})
      return version
    })
  } finally {
    await staged.discard()
  }
}

/** Puts a version in Production without the checks `promote` makes (for a planted broken version). */
export async function promoteUnchecked(store: Store, model: string, version: number): Promise<void> {
  const rule = {rule: 'manual'} as const
  await store.registry.write(async (tx) => {
    const m = (await tx.model(model))!
    for (const other of m.versions) {
      if (other.stage !== 'Production') continue
      const by = {rule: 'displaced', by: version} as const
      await record(tx, {
        model,
        version: other.version,
        action: 'transition',
        from: 'Production',
        to: 'Archived',
        reason: 'planted',
        rule: by,
      })
      await setStage(tx, m, other, 'Archived', by)
    }
    const entry = m.versions.find((v) => v.version === version)!
    await record(tx, {
      model,
      version,
      action: 'transition',
      from: entry.stage,
      to: 'Production',
      reason: 'planted',
      rule,
    })
    await setStage(tx, m, entry, 'Production', rule)
  })
}
