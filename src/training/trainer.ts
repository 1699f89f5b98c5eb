import type {Tensor2D} from '@tensorflow/tfjs'
import type {Rng} from '../data/rng.js'
import {MorphoError} from '../errors.js'
import type {SavedSeed} from '../model/model-file.js'
import {MorphoNet, type NamedWeights, type SeedModule} from '../model/network.js'
import type {Transition} from '../model/seeds.js'
import type {Tf} from '../tf/backend.js'
import {
  type GrowthController,
  type GrowthSignals,
  PlateauGrowth,
  UnderfitController,
  weakestSeed,
} from './controller.js'
import {type Scores, ScoringSet, score} from './evaluate.js'
import {MAX_STEP_WORK} from './limits.js'
import type {TrainOptions} from './options.js'
import {type Batch, createStepper, type StepGroup, type StepOptimizer, type Stepper} from './step.js'
import type {EpochMetrics, GerminationEffect, Phase, SeedCounts, TrainingEvent, TrainSummary} from './types.js'

/**
 * The training loop as a plain part: it takes prepared data and options, reports epochs and
 * events through callbacks, and returns the network, its history and the checkpoint it
 * selected. It does no file I/O, and never sees the test set.
 *
 * Each epoch: one pass of optimiser steps over the shuffled training rows (forward,
 * backward, update), then the validation score, then the controller's decision, then the
 * checkpoint.
 *
 * Phase 1 (warm-up) trains the whole backbone. Phase 2 (adaptation) freezes the backbone
 * but keeps training the output layer at a smaller rate, so validation loss moves and the
 * controller sees a real plateau (the original trained nothing there and germinated on an
 * artificial one). A germinated seed first trains in the shadow on the task loss (its own
 * Adam, the network still computing with alpha 0), then blends in and stays active; from the
 * first germination on the backbone trains again at --joint-lr-scale × --lr, so it can use
 * the new capacity. Phase 2 is skipped, or ends early, when the controller says growth can
 * do nothing more; --early-stop ends it when val_loss stops improving.
 *
 * The checkpoint is the epoch with the lowest val_loss (val_acc breaks ties), seed states
 * included, or the last epoch with --checkpoint last.
 */

export interface PreparedData {
  trainX: Float32Array
  trainY: Int32Array
  nTrain: number
  valX: Float32Array
  valY: Int32Array
  nVal: number
  features: number
  classes: number
}

export interface LoopCallbacks {
  onEpoch?(metrics: EpochMetrics): void | Promise<void>
  onEvent?(event: TrainingEvent): void | Promise<void>
  /** Polled between batches and between the passes of a step; true stops the run there. */
  shouldStop?(): boolean
}

/** The network as it was at the end of one epoch: what is saved, registered and served. */
export interface Checkpoint {
  epoch: number
  phase: Phase
  train_loss: number
  val_loss: number
  val_acc: number
  seeds: SavedSeed[]
  /** Copies of every weight, by saved name; dormant seeds have none. */
  weights: NamedWeights
}

export interface LoopResult {
  /** The network as trained to the last epoch. */
  net: MorphoNet
  history: EpochMetrics[]
  summary: TrainSummary
  /** Absent only when no epoch finished. */
  checkpoint?: Checkpoint
  stopped: boolean
}

/** Rows of the training set used to measure seed health and drift. */
const PROBE_ROWS = 512
/**
 * Longest stretch of tensor work between two turns of the event loop. A signal handler (and
 * so Ctrl-C) runs only on a turn; the limits (limits.ts) keep each pass shorter than a second.
 */
const BREATHE_MS = 50

export class Trainer {
  readonly tf: Tf
  readonly net: MorphoNet
  private readonly data: PreparedData
  private readonly options: TrainOptions
  private readonly shuffleRng: Rng
  private readonly germRng: Rng
  private readonly controller: GrowthController
  private readonly order: Uint32Array
  private readonly batchX: Float32Array
  private readonly batchY: Float32Array
  /** Forward, backward and Adam updates of one batch (step.ts). */
  readonly stepper: Stepper
  private backboneOpt?: StepOptimizer
  private headOpt?: StepOptimizer
  /** Phase 2's optimiser for the backbone below the head, once a seed has germinated. */
  private jointOpt?: StepOptimizer
  private readonly seedOpts = new Map<SeedModule, StepOptimizer>()
  private readonly val: ScoringSet
  private readonly probeX: Tensor2D
  private pendingEvents: TrainingEvent[] = []
  /** Seeds whose drift is above --drift-warn: warned once per crossing, not every epoch. */
  private readonly drifting = new Set<string>()
  private lastBreath = performance.now()
  phase: Phase | undefined

  constructor(tf: Tf, data: PreparedData, options: TrainOptions, rng: Rng) {
    this.tf = tf
    this.data = data
    this.options = options
    this.shuffleRng = rng.fork('shuffle')
    this.germRng = rng.fork('germination')
    this.net = MorphoNet.create(
      tf,
      {
        inputDim: data.features,
        hiddenDim: options.hiddenDim,
        numLayers: options.numLayers,
        seedsPerLayer: options.seedsPerLayer,
        numClasses: data.classes,
      },
      rng.fork('init'),
      {blendSteps: options.blendSteps, progressThresh: options.progressThresh},
    )
    this.stepper = createStepper(tf, this.net)
    const config = {patience: options.patience, delta: options.delta, accThreshold: options.accThreshold}
    this.controller =
      options.controller === 'plateau'
        ? new PlateauGrowth(config)
        : new UnderfitController({
            ...config,
            growGate: options.growGate,
            cooldown: options.cooldown ?? options.patience,
            chanceLoss: Math.log(data.classes),
          })
    this.order = new Uint32Array(data.nTrain).map((_, i) => i)
    const b = Math.min(options.batchSize, data.nTrain)
    this.batchX = new Float32Array(b * data.features)
    this.batchY = new Float32Array(b * data.classes)
    this.val = new ScoringSet(tf, data.valX, data.valY, data.nVal, data.features)
    const probe = Math.min(PROBE_ROWS, data.nTrain)
    this.probeX = tf.tensor2d(data.trainX.subarray(0, probe * data.features), [probe, data.features])
  }

  get totalEpochs(): number {
    return this.options.warmUpEpochs + this.options.adaptationEpochs
  }

  phaseOf(epoch: number): Phase {
    return epoch <= this.options.warmUpEpochs ? 'warm_up' : 'adaptation'
  }

  /** The learning rate of the backbone (phase 1) or the output layer (phase 2) in an epoch. */
  lrFor(epoch: number): number {
    const {lr, warmUpEpochs, adaptationLrScale} = this.options
    return (epoch <= warmUpEpochs ? lr : lr * adaptationLrScale) * this.decay(epoch)
  }

  /** The backbone's phase-2 rate: 0 until the first germination, then --joint-lr-scale × --lr (decayed). */
  jointLr(epoch: number): number {
    const {lr, jointLrScale} = this.options
    if (jointLrScale === 0 || this.net.seeds.every((s) => s.life.state === 'dormant')) return 0
    return lr * jointLrScale * this.decay(epoch)
  }

  /** --lr-step decay, restarting with each phase. */
  private decay(epoch: number): number {
    const {lrStep, lrGamma, warmUpEpochs} = this.options
    const inPhase = epoch <= warmUpEpochs ? epoch - 1 : epoch - warmUpEpochs - 1
    return lrStep > 0 ? lrGamma ** Math.floor(inPhase / lrStep) : 1
  }

  /** Lets the event loop turn (signals, scrapes, output) once BREATHE_MS of work has passed. */
  private async breathe(): Promise<void> {
    if (performance.now() - this.lastBreath < BREATHE_MS) return
    await new Promise((resolve) => setImmediate(resolve))
    this.lastBreath = performance.now()
  }

  /** One pass over the training data; returns the mean training loss. */
  async trainEpoch(epoch: number, shouldStop?: () => boolean): Promise<{loss: number; stopped: boolean}> {
    const {data} = this
    const phase = this.phaseOf(epoch)
    const lr = this.lrFor(epoch)
    this.shuffleRng.shuffleInPlace(this.order)
    const batchSize = Math.min(this.options.batchSize, data.nTrain)
    let lossSum = 0
    let seen = 0
    for (let start = 0; start < data.nTrain; start += batchSize) {
      await this.breathe()
      if (shouldStop?.()) return {loss: seen ? lossSum / seen : Number.NaN, stopped: true}
      const rows = Math.min(batchSize, data.nTrain - start)
      this.fillBatch(start, rows)
      const batch: Batch = {x: this.batchX, y: this.batchY, rows}
      const loss =
        phase === 'warm_up' ? this.warmUpStep(batch, lr) : await this.adaptationStep(batch, lr, epoch, shouldStop)
      if (!Number.isFinite(loss)) {
        throw new MorphoError('DIVERGED', `Training diverged at epoch ${epoch}: the loss became ${loss}`, {
          hint: 'Lower --lr (or --shadow-lr), or standardise the data.',
          details: {epoch},
        })
      }
      lossSum += loss * rows
      seen += rows
    }
    return {loss: lossSum / seen, stopped: false}
  }

  private fillBatch(start: number, rows: number): void {
    const {features, classes, trainX, trainY} = this.data
    this.batchY.fill(0)
    for (let r = 0; r < rows; r++) {
      const i = this.order[start + r]
      this.batchX.set(trainX.subarray(i * features, (i + 1) * features), r * features)
      this.batchY[r * classes + trainY[i]] = 1
    }
  }

  private warmUpStep(batch: Batch, lr: number): number {
    this.backboneOpt ??= this.stepper.adam()
    return this.stepper.step(batch, [{vars: this.net.backboneVariables, opt: this.backboneOpt, lr}])
  }

  private async adaptationStep(batch: Batch, lr: number, epoch: number, shouldStop?: () => boolean): Promise<number> {
    const {net, stepper} = this
    this.headOpt ??= stepper.adam()
    const groups: StepGroup[] = [{vars: net.headVariables, opt: this.headOpt, lr}]
    const jointLr = this.jointLr(epoch)
    if (jointLr > 0) {
      this.jointOpt ??= stepper.adam()
      groups.push({vars: net.bodyVariables, opt: this.jointOpt, lr: jointLr})
    }
    for (const seed of net.seeds) {
      if (seed.life.state !== 'blending' && seed.life.state !== 'active') continue
      groups.push({vars: MorphoNet.seedVariables(seed), opt: this.seedOptimizer(seed), lr: this.options.shadowLr})
    }
    const value = stepper.step(batch, groups)
    for (const seed of net.seeds) {
      if (seed.life.state !== 'training') continue
      // Each seed in the shadow is one more pass through the network: let a signal in between.
      await this.breathe()
      if (shouldStop?.()) return value
      const vars = MorphoNet.seedVariables(seed)
      stepper.step(batch, [{vars, opt: this.seedOptimizer(seed), lr: this.options.shadowLr}], seed)
    }
    for (const seed of net.seeds) this.record(seed, seed.life.afterStep(), epoch)
    return value
  }

  private seedOptimizer(seed: SeedModule): StepOptimizer {
    let opt = this.seedOpts.get(seed)
    if (!opt) {
      opt = this.stepper.adam()
      this.seedOpts.set(seed, opt)
    }
    return opt
  }

  private record(seed: SeedModule, transition: Transition | undefined, epoch: number): void {
    if (!transition) return
    this.pendingEvents.push({type: 'seed_state', epoch, seed: seed.life.id, ...transition, time: now()})
  }

  /** The validation score of the network as it is now; NaN throughout when `shouldStop` stopped it part-way. */
  evaluate(shouldStop?: () => boolean): Promise<Scores> {
    const forward = (x: Tensor2D) => this.stepper.logits(x)
    return score(this.tf, this.net, this.val, {...this.scoring(shouldStop), forward})
  }

  /** Passes no more work than a training step is allowed, with a turn of the event loop between. */
  private scoring(shouldStop?: () => boolean) {
    return {
      chunk: Math.floor(MAX_STEP_WORK / this.net.parameterCount()),
      between: async () => {
        await this.breathe()
        return shouldStop?.() === true
      },
    }
  }

  /** Mean per-feature variance of each layer's block output over the probe rows. */
  layerHealth(): number[] {
    const {tf} = this
    return tf.tidy(() => {
      const {taps} = this.net.forwardWithTaps(this.probeX, {taps: true})
      return taps.map((t) => {
        const n = t.shape[0]
        const {variance} = tf.moments(t, 0)
        // Unbiased, as the original measured it.
        return (tf.mean(variance).dataSync()[0] * n) / Math.max(1, n - 1)
      })
    })
  }

  /** 1 − mean cosine between a seed's input and its layer's output with that seed applied. */
  seedDrift(seed: SeedModule): number {
    const {tf, net} = this
    const alpha = seed.life.alpha
    if (!seed.w1 || alpha === 0) return 0
    return tf.tidy(() => {
      const {taps} = net.forwardWithTaps(this.probeX, {taps: true})
      const x = taps[seed.life.layer]
      const out = tf.add(x, tf.mul(net.child(x, seed), alpha / net.arch.seedsPerLayer))
      const dot = tf.sum(tf.mul(x, out), 1)
      const norms = tf.mul(tf.norm(x, 'euclidean', 1), tf.norm(out, 'euclidean', 1))
      const cos = tf.div(dot, tf.maximum(norms, 1e-12))
      return 1 - tf.mean(cos).dataSync()[0]
    })
  }

  /** Germinates the weakest dormant seed, if any; returns it. */
  germinate(epoch: number): {seed: SeedModule; health: number} | undefined {
    const health = this.layerHealth()
    const candidates = this.net.seeds
      .map((s, index) => ({s, index}))
      .filter(({s}) => s.life.state === 'dormant')
      .map(({s, index}) => ({index, health: health[s.life.layer]}))
    const index = weakestSeed(candidates)
    if (index === undefined) return undefined
    const seed = this.net.seeds[index]
    this.net.germinate(seed, epoch, this.germRng)
    return {seed, health: health[seed.life.layer]}
  }

  async run(callbacks: LoopCallbacks = {}): Promise<LoopResult> {
    const history: EpochMetrics[] = []
    const germinations: {seed: string; epoch: number; accPre: number}[] = []
    let bestAcc = -1
    let best: Checkpoint | undefined
    let lastGermination = 0
    let stopped = false
    let ended: string | undefined
    const emit = async (event: TrainingEvent) => callbacks.onEvent?.(event)
    const {warmUpEpochs, earlyStop} = this.options

    for (let epoch = 1; epoch <= this.totalEpochs; epoch++) {
      const started = performance.now()
      const phase = this.phaseOf(epoch)
      if (phase !== this.phase) {
        const last = history.at(-1)
        const why = phase === 'adaptation' && last ? this.controller.cannotStart(this.signals(last, best!)) : undefined
        if (why) {
          ended = `phase 2 skipped: ${why}`
          await emit({type: 'phase_skipped', epoch, phase: 'adaptation', reason: why, time: now()})
          break
        }
        await emit({type: 'phase', epoch, from: this.phase ?? 'init', to: phase, time: now()})
        this.phase = phase
      }

      // Forward, backward and optimiser steps over every batch.
      const train = await this.trainEpoch(epoch, callbacks.shouldStop)
      for (const event of this.pendingEvents.splice(0)) await emit(event)

      // Evaluation, then the checkpoint: the network exactly as it was scored.
      const val = train.stopped ? undefined : await this.evaluate(callbacks.shouldStop)
      if (!val || callbacks.shouldStop?.()) {
        stopped = true
        break
      }
      bestAcc = Math.max(bestAcc, val.acc)
      const improved = !best || val.loss < best.val_loss || (val.loss === best.val_loss && val.acc > best.val_acc)
      if (improved) best = this.checkpoint(epoch, phase, train.loss, val)

      // The controller's decision, on the epoch as it ended.
      let plateau = 0
      let done: string | undefined
      if (phase === 'adaptation') {
        const signals: GrowthSignals = {
          epoch,
          trainLoss: train.loss,
          valLoss: val.loss,
          valAcc: val.acc,
          bestValLoss: best!.val_loss,
          bestEpoch: best!.epoch,
          dormant: this.net.seeds.filter((s) => s.life.state === 'dormant').length,
          growing: this.growing(),
        }
        const decision = this.controller.step(signals)
        plateau = decision.plateau
        done = decision.done
        const grown = decision.germinate ? this.germinate(epoch) : undefined
        if (grown) {
          this.controller.germinated(signals)
          lastGermination = epoch
          germinations.push({seed: grown.seed.life.id, epoch, accPre: val.acc})
          await emit({
            type: 'germination',
            epoch,
            seed: grown.seed.life.id,
            health: grown.health,
            val_loss: val.loss,
            val_acc: val.acc,
            plateau,
            time: now(),
          })
          await emit({
            type: 'seed_state',
            epoch,
            seed: grown.seed.life.id,
            from: 'dormant',
            to: 'training',
            time: now(),
          })
        }
      }

      const seedStates = await this.seedStates(epoch, emit)
      const metrics: EpochMetrics = {
        epoch,
        phase,
        train_loss: train.loss,
        val_loss: val.loss,
        val_acc: val.acc,
        best_val_acc: bestAcc,
        lr: this.lrFor(epoch),
        plateau,
        seeds: countSeeds(this.net),
        seed_states: seedStates,
        seconds: (performance.now() - started) / 1000,
      }
      history.push(metrics)
      await callbacks.onEpoch?.(metrics)

      if (phase === 'adaptation' && !this.growing()) {
        // Never during warm-up, nor before a seed that germinated has had its chance.
        const since = epoch - Math.max(best!.epoch, warmUpEpochs, lastGermination)
        if (earlyStop > 0 && since >= earlyStop && epoch < this.totalEpochs) {
          ended = `early stop: no lower val_loss for ${since} epochs (best at epoch ${best!.epoch})`
          await emit({type: 'early_stop', epoch, patience: earlyStop, best_epoch: best!.epoch, time: now()})
          break
        }
        if (done && epoch < this.totalEpochs) {
          ended = `phase 2 ended: ${done}`
          await emit({type: 'phase_ended', epoch, phase: 'adaptation', reason: done, time: now()})
          break
        }
      }
      // Let signals, metric scrapes and output flush between epochs.
      await new Promise((r) => setImmediate(r))
    }

    const last = history.at(-1)
    const checkpoint =
      this.options.checkpoint === 'last' && last
        ? this.checkpoint(last.epoch, last.phase, last.train_loss, {loss: last.val_loss, acc: last.val_acc})
        : best
    return {
      net: this.net,
      history,
      summary: summarise(this.net, history, germinations, checkpoint, best, ended),
      checkpoint,
      stopped,
    }
  }

  /**
   * Scores a checkpoint on rows the loop never saw (the test set), through a network rebuilt
   * from its saved weights and seed states: the model exactly as it is saved and served. Its
   * logits come from a training step of its own, which gives net.forward's values (on cpu in
   * a fraction of the time: TF.js's JavaScript product took 0.8 s for the default test rows
   * at hidden 128).
   */
  async scoreCheckpoint(checkpoint: Checkpoint, rows: {x: Float32Array; y: Int32Array; n: number}): Promise<Scores> {
    const {tf, options} = this
    const weights = new Map(checkpoint.weights.map((w) => [w.spec.name, {shape: w.spec.shape, values: w.values}]))
    const net = MorphoNet.fromWeights(tf, this.net.arch, checkpoint.seeds, weights, {
      blendSteps: options.blendSteps,
      progressThresh: options.progressThresh,
    })
    const set = new ScoringSet(tf, rows.x, rows.y, rows.n, this.data.features)
    try {
      const stepper = createStepper(tf, net)
      return await score(tf, net, set, {...this.scoring(), forward: (x) => stepper.logits(x)})
    } finally {
      set.dispose()
      net.dispose()
    }
  }

  /** Signals for the controller from a finished epoch's metrics. */
  private signals(m: EpochMetrics, best: Checkpoint): GrowthSignals {
    return {
      epoch: m.epoch,
      trainLoss: m.train_loss,
      valLoss: m.val_loss,
      valAcc: m.val_acc,
      bestValLoss: best.val_loss,
      bestEpoch: best.epoch,
      dormant: m.seeds.dormant,
      growing: m.seeds.training + m.seeds.blending > 0,
    }
  }

  private growing(): boolean {
    return this.net.seeds.some((s) => s.life.state === 'training' || s.life.state === 'blending')
  }

  /** A copy of the network as it is now. */
  private checkpoint(epoch: number, phase: Phase, trainLoss: number, val: {loss: number; acc: number}): Checkpoint {
    const weights = this.net.namedWeights().map((w) => ({spec: w.spec, values: w.values.slice()}))
    return {
      epoch,
      phase,
      train_loss: trainLoss,
      val_loss: val.loss,
      val_acc: val.acc,
      seeds: this.net.savedSeeds(),
      weights,
    }
  }

  /** Each seed's state, alpha and drift; a drift above --drift-warn is warned once per crossing. */
  private async seedStates(
    epoch: number,
    emit: (e: TrainingEvent) => Promise<void>,
  ): Promise<EpochMetrics['seed_states']> {
    const states: EpochMetrics['seed_states'] = []
    for (const s of this.net.seeds) {
      const live = s.life.state === 'blending' || s.life.state === 'active'
      if (live) await this.breathe()
      const drift = live ? this.seedDrift(s) : undefined
      states.push({id: s.life.id, state: s.life.state, alpha: s.life.alpha, ...(drift === undefined ? {} : {drift})})
    }
    for (const s of states) {
      const warn = this.options.driftWarn
      const above = warn > 0 && s.drift !== undefined && s.drift > warn
      if (above && !this.drifting.has(s.id)) {
        await emit({type: 'drift_warning', epoch, seed: s.id, drift: s.drift!, time: now()})
      }
      if (above) this.drifting.add(s.id)
      else this.drifting.delete(s.id)
    }
    return states
  }

  dispose(): void {
    this.val.dispose()
    this.probeX.dispose()
    this.backboneOpt?.dispose()
    this.headOpt?.dispose()
    this.jointOpt?.dispose()
    for (const opt of this.seedOpts.values()) opt.dispose()
  }
}

export function countSeeds(net: MorphoNet): SeedCounts {
  const counts: SeedCounts = {dormant: 0, training: 0, blending: 0, active: 0}
  for (const s of net.seeds) counts[s.life.state]++
  return counts
}

function summarise(
  net: MorphoNet,
  history: EpochMetrics[],
  germinations: {seed: string; epoch: number; accPre: number}[],
  selected: Checkpoint | undefined,
  best: Checkpoint | undefined,
  ended: string | undefined,
): TrainSummary {
  const last = history.at(-1)
  const counts = countSeeds(net)
  const summary: TrainSummary = {
    val_acc: selected?.val_acc ?? 0,
    val_loss: selected?.val_loss ?? Number.NaN,
    train_loss: selected?.train_loss ?? Number.NaN,
    selected_epoch: selected?.epoch ?? 0,
    final_epoch: last?.epoch ?? 0,
    final_val_acc: last?.val_acc ?? 0,
    final_val_loss: last?.val_loss ?? Number.NaN,
    final_train_loss: last?.train_loss ?? Number.NaN,
    best_val_acc: last?.best_val_acc ?? 0,
    best_val_loss: best?.val_loss ?? Number.NaN,
    best_epoch: best?.epoch ?? 0,
    epochs: history.length,
    adaptation_epochs: history.filter((m) => m.phase === 'adaptation').length,
    seeds_total: net.seeds.length,
    seeds_germinated: net.seeds.length - counts.dormant,
    seeds_active: selected ? selected.seeds.filter((s) => s.state === 'active').length : counts.active,
    parameters: selected ? selected.weights.reduce((n, w) => n + w.values.length, 0) : net.parameterCount(),
    ...(ended ? {ended} : {}),
  }
  if (germinations.length === 0) return summary
  // Each germination's own dip and recovery; the top-level fields are those of the deepest dip.
  summary.germinations = germinations.map((g) => {
    const effect: GerminationEffect = {seed: g.seed, epoch: g.epoch, acc_pre: g.accPre}
    const after = history.find((m) => m.epoch === g.epoch + 1)
    if (after) {
      effect.acc_post = after.val_acc
      effect.accuracy_dip = g.accPre - after.val_acc
    }
    // Recovery counts from the epoch after germination (the original's check passed at once).
    const back = history.find((m) => m.epoch > g.epoch && m.val_acc >= g.accPre)
    if (back) effect.recovery_epochs = back.epoch - g.epoch
    return effect
  })
  const deepest = summary.germinations.reduce((a, b) =>
    (b.accuracy_dip ?? Number.NEGATIVE_INFINITY) > (a.accuracy_dip ?? Number.NEGATIVE_INFINITY) ? b : a,
  )
  summary.acc_pre = deepest.acc_pre
  if (deepest.acc_post !== undefined) summary.acc_post = deepest.acc_post
  if (deepest.accuracy_dip !== undefined) summary.accuracy_dip = deepest.accuracy_dip
  if (deepest.recovery_epochs !== undefined) summary.recovery_epochs = deepest.recovery_epochs
  return summary
}

function now(): string {
  return new Date().toISOString()
}
