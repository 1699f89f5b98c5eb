/**
 * When a seed germinates, and when growth has nothing left to do. Two controllers answer
 * the same questions once per phase-2 epoch:
 *
 * - `underfit` (the default) grows only when growth can help: val_loss has stopped
 *   improving while the network under-fits — its training loss still high and close to the
 *   validation loss. Over-fitting (train_loss below --grow-gate × val_loss, or val_loss risen
 *   from its best) is no reason to grow: more capacity makes it worse. After a germination
 *   it waits until the seed is active and then a cool-down; if by then the germination has
 *   not lowered the best val_loss, no further seed germinates.
 * - `plateau` is the original's rule (KasminaMicro), with its defects fixed: germinate the
 *   weakest dormant seed once val_loss has not improved by delta on its best for `patience`
 *   epochs while val_acc is below --acc-threshold.
 */

/** What the controller sees at the end of an epoch. */
export interface GrowthSignals {
  epoch: number
  trainLoss: number
  valLoss: number
  valAcc: number
  /** The lowest val_loss of the run so far, this epoch included, and its epoch. */
  bestValLoss: number
  bestEpoch: number
  /** Seeds that can still germinate. */
  dormant: number
  /** A seed is training in the shadow or blending in. */
  growing: boolean
}

export interface GrowthDecision {
  /** Epochs without a val_loss improvement of at least delta on its best. */
  plateau: number
  /** True when a seed should germinate now. */
  germinate: boolean
  /** Set when phase 2 can do nothing more: why. */
  done?: string
}

export interface GrowthController {
  step(signals: GrowthSignals): GrowthDecision
  /** A seed germinated at the end of this epoch. */
  germinated(signals: GrowthSignals): void
  /** Why phase 2 could do nothing, judged on the last warm-up epoch; undefined if it can. */
  cannotStart(signals: GrowthSignals): string | undefined
}

export interface ControllerConfig {
  /** Epochs without an improvement of at least `delta` before germination. */
  patience: number
  delta: number
  /** Germination is only considered while val_acc is below this. */
  accThreshold: number
}

export interface UnderfitConfig extends ControllerConfig {
  /** Germinate only while train_loss >= growGate × val_loss. */
  growGate: number
  /** Epochs after a seed becomes active before the next may germinate. */
  cooldown: number
  /** The loss of a uniform guess, ln(classes): what "still high" is measured against. */
  chanceLoss: number
}

/** Below this share of a guess's loss the network fits its training data: nothing to grow for. */
export const LOW_LOSS_SHARE = 0.05
/** val_loss this much (relative) above its best, plus delta, is over-fitting. */
export const RISE_SHARE = 0.1

export class UnderfitController implements GrowthController {
  private readonly config: UnderfitConfig
  private readonly plateauTest: PlateauController
  private awaitingActive = false
  private coolUntil = 0
  private pending?: {epoch: number; bestBefore: number}
  private stopped?: string

  constructor(config: UnderfitConfig) {
    this.config = config
    this.plateauTest = new PlateauController({...config, accThreshold: Number.POSITIVE_INFINITY})
  }

  step(s: GrowthSignals): GrowthDecision {
    const {delta, patience} = this.config
    const {plateau} = this.plateauTest.step(s.valLoss, s.valAcc)
    if (s.growing) return {plateau, germinate: false}
    if (this.awaitingActive) {
      this.awaitingActive = false
      this.coolUntil = s.epoch + this.config.cooldown
    }
    if (s.epoch < this.coolUntil) return {plateau, germinate: false}
    if (this.pending) {
      const {epoch, bestBefore} = this.pending
      this.pending = undefined
      if (s.bestValLoss > bestBefore - delta) {
        this.stopped = `the germination at epoch ${epoch} did not lower val_loss (best ${fmt(bestBefore)}, since then ${fmt(s.bestValLoss)})`
      }
    }
    if (this.stopped) return {plateau, germinate: false, done: this.stopped}
    // Nothing is decided while val_loss still improves: the network is still learning.
    if (plateau < patience) return {plateau, germinate: false}
    const blocked = this.blocked(s)
    if (blocked) return {plateau, germinate: false, done: blocked}
    if (s.dormant === 0) return {plateau, germinate: false, done: 'every seed has germinated and val_loss has stalled'}
    return {plateau, germinate: true}
  }

  germinated(s: GrowthSignals): void {
    this.plateauTest.germinated()
    this.awaitingActive = true
    this.pending = {epoch: s.epoch, bestBefore: s.bestValLoss}
  }

  cannotStart(s: GrowthSignals): string | undefined {
    if (s.dormant === 0) return 'the network has no seeds'
    // A network whose val_loss improved within the last `patience` epochs is still learning:
    // one noisy epoch is no proof of over-fitting. One that fits its training data is done.
    const learning = s.epoch - s.bestEpoch < this.config.patience
    const why = this.blocked(s)
    return learning && why?.startsWith('over-fitting') ? undefined : why
  }

  /** Why growth cannot help now: the network fits its data, or over-fits it. */
  private blocked(s: GrowthSignals): string | undefined {
    const {growGate, chanceLoss, accThreshold, delta} = this.config
    if (s.valAcc >= accThreshold) return `val_acc ${fmt(s.valAcc)} has reached --acc-threshold ${accThreshold}`
    if (s.trainLoss < LOW_LOSS_SHARE * chanceLoss) {
      return `train_loss ${fmt(s.trainLoss)} is low: the network fits its training data`
    }
    if (s.trainLoss < growGate * s.valLoss) {
      return `over-fitting: train_loss ${fmt(s.trainLoss)} is below ${growGate} × val_loss ${fmt(s.valLoss)}`
    }
    if (s.valLoss > s.bestValLoss * (1 + RISE_SHARE) + delta) {
      return `over-fitting: val_loss ${fmt(s.valLoss)} has risen from its best ${fmt(s.bestValLoss)}`
    }
    return undefined
  }
}

/**
 * The original's plateau test: improvement is measured against the best validation loss so
 * far, not the previous epoch, so a slow oscillation cannot hide a plateau; the counter
 * resets only when a seed really germinated (as the original's later version); the caller
 * trains something in phase 2, so the plateau it sees is real.
 */
export class PlateauController {
  private readonly config: ControllerConfig
  private best = Number.POSITIVE_INFINITY
  plateau = 0

  constructor(config: ControllerConfig) {
    this.config = config
  }

  step(valLoss: number, valAcc: number): {plateau: number; improved: boolean; germinate: boolean} {
    const improved = this.best - valLoss >= this.config.delta
    if (improved) {
      this.best = valLoss
      this.plateau = 0
    } else {
      this.plateau++
    }
    const germinate = valAcc < this.config.accThreshold && this.plateau >= this.config.patience
    return {plateau: this.plateau, improved, germinate}
  }

  /** After a successful germination: the grown network gets a fresh plateau window. */
  germinated(): void {
    this.plateau = 0
  }

  get bestLoss(): number {
    return this.best
  }
}

/** The plateau rule as a GrowthController: phase 2 runs its epochs until no seed is left to grow. */
export class PlateauGrowth implements GrowthController {
  private readonly inner: PlateauController
  private readonly accThreshold: number

  constructor(config: ControllerConfig) {
    this.inner = new PlateauController(config)
    this.accThreshold = config.accThreshold
  }

  step(s: GrowthSignals): GrowthDecision {
    const d = this.inner.step(s.valLoss, s.valAcc)
    if (s.dormant === 0)
      return {plateau: d.plateau, germinate: false, done: s.growing ? undefined : 'every seed has germinated'}
    return {plateau: d.plateau, germinate: d.germinate}
  }

  germinated(): void {
    this.inner.germinated()
  }

  cannotStart(s: GrowthSignals): string | undefined {
    if (s.dormant === 0) return 'the network has no seeds'
    if (s.valAcc >= this.accThreshold)
      return `val_acc ${fmt(s.valAcc)} has reached --acc-threshold ${this.accThreshold}`
    return undefined
  }
}

function fmt(v: number): string {
  return v.toFixed(4)
}

/**
 * The weakest seed: the dormant one whose input activations vary least (mean per-feature
 * variance), i.e. the narrowest bottleneck. Ties go to the earlier seed. The variances are
 * measured on training rows by the caller, so every seed can be chosen and validation data
 * never feeds a decision.
 */
export function weakestSeed(candidates: {index: number; health: number}[]): number | undefined {
  let chosen: {index: number; health: number} | undefined
  for (const c of candidates) {
    if (!Number.isFinite(c.health)) continue
    if (!chosen || c.health < chosen.health) chosen = c
  }
  return chosen?.index
}
