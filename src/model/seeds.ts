/**
 * The seed lifecycle, free of tensors so it can be reasoned about and tested on its own:
 * dormant → training → blending → active, one way only.
 *
 * - training: the seed's adapter learns in the shadow (the live network still sees alpha 0)
 *   for `shadowSteps` optimiser steps; progress = steps / 100, as in the original, so a
 *   progress threshold of 0.6 means 60 steps.
 * - blending: alpha rises by exactly 1/blendSteps per step, from a step counter rather than
 *   accumulated floats, and the seed becomes active on the step that makes alpha exactly 1.
 *   Active uses the same formula with alpha 1, so the network's function does not jump.
 */

export type SeedState = 'dormant' | 'training' | 'blending' | 'active'

export interface SeedConfig {
  blendSteps: number
  progressThresh: number
}

export interface Transition {
  from: SeedState
  to: SeedState
}

export class SeedLifecycle {
  readonly id: string
  readonly layer: number
  state: SeedState = 'dormant'
  shadowSteps = 0
  blendStep = 0
  germinatedAtEpoch?: number
  private readonly config: SeedConfig
  /** The exact alpha of a restored blending seed, until it steps again. */
  private restoredAlpha?: number

  constructor(id: string, layer: number, config: SeedConfig) {
    this.id = id
    this.layer = layer
    this.config = config
  }

  /** The alpha the live network uses: 0 until blending starts, 1 once active. */
  get alpha(): number {
    if (this.state === 'active') return 1
    if (this.state === 'blending') return this.restoredAlpha ?? Math.min(1, this.blendStep / this.config.blendSteps)
    return 0
  }

  get progress(): number {
    return this.shadowSteps / 100
  }

  /** Steps of shadow training before blending starts (0.6 → 60, as the original behaved). */
  get shadowStepsNeeded(): number {
    return Math.max(1, Math.round(this.config.progressThresh * 100))
  }

  germinate(epoch: number): Transition {
    if (this.state !== 'dormant') throw new Error(`seed ${this.id} is ${this.state}, not dormant`)
    this.state = 'training'
    this.germinatedAtEpoch = epoch
    return {from: 'dormant', to: 'training'}
  }

  /** Called after each optimiser step; returns the transition it caused, if any. */
  afterStep(): Transition | undefined {
    if (this.state === 'training') {
      this.shadowSteps++
      if (this.shadowSteps >= this.shadowStepsNeeded) {
        this.state = 'blending'
        this.blendStep = 0
        return {from: 'training', to: 'blending'}
      }
      return undefined
    }
    if (this.state === 'blending') {
      this.restoredAlpha = undefined
      this.blendStep++
      if (this.blendStep >= this.config.blendSteps) {
        this.state = 'active'
        return {from: 'blending', to: 'active'}
      }
    }
    return undefined
  }

  /** Restores a saved seed (state and alpha as saved). */
  restore(state: SeedState, alpha: number): void {
    this.state = state
    this.blendStep = state === 'blending' ? Math.round(alpha * this.config.blendSteps) : 0
    this.restoredAlpha = state === 'blending' ? alpha : undefined
  }
}

export function seedId(layer: number, index: number): string {
  return `seed${layer + 1}_${index + 1}`
}
