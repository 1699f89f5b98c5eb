import type {SeedState} from './seeds.js'

/**
 * model/model.json: the architecture, the seed states, the input scaler and a TF.js
 * weights manifest whose weights live in model/weights.bin (TF.js weights format).
 * A saved model is self-contained: it takes raw features and applies its own scaler.
 */

export const MODEL_FORMAT = 'morpho-model'
export const MODEL_FORMAT_VERSION = 1
export const MODEL_FILE = 'model.json'
export const WEIGHTS_FILE = 'weights.bin'

export interface Architecture {
  inputDim: number
  hiddenDim: number
  numLayers: number
  seedsPerLayer: number
  numClasses: number
}

export interface SavedSeed {
  id: string
  layer: number
  state: SeedState
  alpha: number
}

export interface WeightSpec {
  name: string
  shape: number[]
  dtype: 'float32'
}

export interface ModelFile {
  format: typeof MODEL_FORMAT
  formatVersion: number
  architecture: Architecture
  seeds: SavedSeed[]
  /** Standardisation fitted on the training split; predict applies it to raw rows. */
  scaler: {mean: number[]; std: number[]}
  /** The label value for each output index (the data's own class labels, sorted). */
  classes: number[]
  /** The feature names (a CSV's header), when the data had them. */
  features?: string[]
  problem: string
  runId?: string
  createdAt: string
  weightsManifest: {paths: string[]; weights: WeightSpec[]}[]
}
