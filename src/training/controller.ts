/**
 * The plateau controller (the original's KasminaMicro: germinate the weakest dormant seed once
 * val_loss has not improved by delta for `patience` epochs while val_acc is below a gate),
 * with its defects fixed:
 * - improvement is measured against the best validation loss so far, not the previous epoch,
 *   so a slow oscillation cannot hide a plateau;
 * - the counter resets only when a seed really germinated (as the original's later version);
 * - the caller trains something in the adaptation phase, so the plateau it sees is real.
 */

export interface ControllerConfig {
  /** Epochs without an improvement of at least `delta` before germination. */
  patience: number
  delta: number
  /** Germination is only considered while val_acc is below this. */
  accThreshold: number
}

export interface ControllerDecision {
  plateau: number
  improved: boolean
  /** True when a seed should germinate now. */
  germinate: boolean
}

export class PlateauController {
  private readonly config: ControllerConfig
  private best = Number.POSITIVE_INFINITY
  plateau = 0

  constructor(config: ControllerConfig) {
    this.config = config
  }

  step(valLoss: number, valAcc: number): ControllerDecision {
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
