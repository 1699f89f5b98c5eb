import type {BackendRequest} from '../config.js'
import {Rng} from '../data/rng.js'
import {asMorphoError, MorphoError} from '../errors.js'
import {encodeModel} from '../model/serialize.js'
import type {Store} from '../store/store.js'
import {type BackendInfo, loadTf, type Tf} from '../tf/backend.js'
import {checkTrainingSize} from '../training/limits.js'
import {appliedOptions, type TrainOptions} from '../training/options.js'
import {type Prepared, prepareData} from '../training/prepare.js'
import {stepThreads} from '../training/product-thread.js'
import {Trainer} from '../training/trainer.js'
import type {EpochMetrics, TrainSummary} from '../training/types.js'
import {processInfo} from './runs.js'
import {RUN_SCHEMA_VERSION, type RunEvent, type RunRecord} from './types.js'

/** What a progress display or a metrics exporter sees of a run. */
export interface TrainingObserver {
  start?(info: {
    runId: string
    problem: string
    backend: string
    patience: number
    seeds: string[]
    totalEpochs: number
    warmUpEpochs: number
  }): void
  epoch?(metrics: EpochMetrics): void
  event?(event: RunEvent): void
  end?(status: RunRecord['status']): void
}

export interface TrainRunInput {
  options: TrainOptions
  store: Store
  backend: BackendRequest
  morphoVersion: string
  cwd?: string
  observers?: TrainingObserver[]
  /**
   * Aborting stops the run in whatever phase it is (reading the data, building, training,
   * saving) within a second; a run that has its folder is recorded as interrupted.
   */
  signal?: AbortSignal
}

export interface TrainRunResult {
  runId: string
  status: 'completed'
  problem: string
  dir: string
  summary: TrainSummary
  params: TrainOptions
  backend: BackendInfo
  seconds: number
}

/**
 * One tracked run: data, backend, run folder, the loop, the saved model and the record.
 * Every exit path leaves run.json complete: completed, interrupted or failed.
 */
export async function trainRun(input: TrainRunInput): Promise<TrainRunResult> {
  const {options, store, signal} = input
  const observers = input.observers ?? []
  const stopBefore = (what: string) => {
    if (signal?.aborted) throw new MorphoError('INTERRUPTED', `Interrupted while ${what}; no run was started`)
  }
  const prepared = await prepareData(options, input.cwd, signal)
  checkTrainingSize(options, {
    features: prepared.data.features,
    classes: prepared.data.classes,
    trainRows: prepared.data.nTrain,
  })
  stopBefore('preparing the data')
  const {tf, backend} = await loadTf(input.backend)
  stopBefore('loading TF.js')

  const started = performance.now()
  const writer = await store.runs.create(prepared.problem)
  const {id} = writer
  const record: RunRecord = {
    schemaVersion: RUN_SCHEMA_VERSION,
    id,
    status: 'running',
    problem: prepared.problem,
    data: prepared.source,
    // Only what shaped this run: no spirals noise in a moons run, no generator in a CSV run.
    params: appliedOptions(options, prepared.source),
    seed: options.seed,
    backend: {
      name: backend.name,
      requested: backend.requested,
      tfjsVersion: backend.tfjsVersion,
      simd: backend.simd,
      threads: stepThreads(backend.name),
    },
    versions: {morpho: input.morphoVersion, node: process.versions.node},
    createdAt: new Date().toISOString(),
    ...processInfo(),
  }
  await writer.start(record)

  const finish = async (status: RunRecord['status'], extra: Partial<RunRecord>) => {
    record.status = status
    record.endedAt = new Date().toISOString()
    record.seconds = round((performance.now() - started) / 1000, 3)
    Object.assign(record, extra)
    const event = writer.event({type: 'status', epoch: extra.summary?.epochs ?? 0, status, time: record.endedAt})
    // A run that failed (of a full disk, say) still records so, even if its status line cannot be.
    await (status === 'failed' ? event.catch(() => {}) : event)
    await writer.record(record)
    for (const o of observers) o.end?.(status)
  }
  const interrupted = async (what: string, summary?: TrainSummary) => {
    await finish('interrupted', {summary})
    return new MorphoError('INTERRUPTED', `Training interrupted ${what}; run ${id} is marked interrupted`, {
      hint: 'Start it again with the same flags to get the same result.',
      details: {run: id},
    })
  }

  let trainer: Trainer | undefined
  try {
    trainer = buildTrainer(tf, prepared, options)
    if (signal?.aborted) throw await interrupted('while building the network')
    for (const o of observers) {
      o.start?.({
        runId: id,
        problem: prepared.problem,
        backend: backend.name,
        patience: options.patience,
        seeds: trainer.net.seeds.map((s) => s.life.id),
        totalEpochs: trainer.totalEpochs,
        warmUpEpochs: options.warmUpEpochs,
      })
    }
    const result = await trainer.run({
      onEpoch: async (m) => {
        await writer.epoch(m)
        for (const o of observers) o.epoch?.(m)
      },
      onEvent: async (e) => {
        await writer.event(e)
        for (const o of observers) o.event?.(e)
      },
      shouldStop: () => signal?.aborted === true,
    })
    const summary = result.history.length ? result.summary : undefined
    if (result.stopped) throw await interrupted(`after ${result.history.length} epochs`, summary)
    const checkpoint = result.checkpoint!
    if (prepared.test) {
      // Once, after training, on the model that is saved: nothing in training saw these rows.
      const test = await trainer.scoreCheckpoint(checkpoint, prepared.test)
      Object.assign(result.summary, {test_acc: test.acc, test_loss: test.loss, test_ece: test.ece})
    }
    const model = encodeModel({
      architecture: trainer.net.arch,
      seeds: checkpoint.seeds,
      scaler: prepared.scaler,
      classes: prepared.classes,
      ...(prepared.features ? {features: prepared.features} : {}),
      problem: prepared.problem,
      runId: id,
      weights: checkpoint.weights,
    })
    await writer.saveModel(model.files)
    if (signal?.aborted)
      throw await interrupted(`while saving the model, after ${result.history.length} epochs`, summary)
    await finish('completed', {summary: result.summary, model: 'model'})
    return {
      runId: id,
      status: 'completed',
      problem: prepared.problem,
      dir: writer.location,
      summary: result.summary,
      params: options,
      backend,
      seconds: record.seconds ?? 0,
    }
  } catch (err) {
    if (record.status === 'running') {
      const e = asMorphoError(err)
      await finish('failed', {error: {code: e.code, message: e.message}}).catch(() => {})
    }
    throw err
  } finally {
    await writer.close()
    trainer?.dispose()
    trainer?.net.dispose()
  }
}

/**
 * The network and its optimiser state. The limits keep it small; an allocation that fails
 * anyway (a machine short of memory) says what to lower instead of a raw RangeError.
 */
function buildTrainer(tf: Tf, prepared: Prepared, options: TrainOptions): Trainer {
  try {
    return new Trainer(tf, prepared.data, options, new Rng(options.seed))
  } catch (err) {
    if (!(err instanceof RangeError)) throw err
    throw new MorphoError('INTERNAL', `Could not allocate the network (${err.message})`, {
      hint: 'Lower --hidden-dim, --num-layers or --seeds-per-layer, or free some memory.',
      details: {hiddenDim: options.hiddenDim, numLayers: options.numLayers, seedsPerLayer: options.seedsPerLayer},
      cause: err,
    })
  }
}

function round(value: number, digits: number): number {
  const f = 10 ** digits
  return Math.round(value * f) / f
}
