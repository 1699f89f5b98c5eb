import type {ClassLabels} from '../data/datasets.js'
import type {SeedState} from './seeds.js'

export type {ClassLabel, ClassLabels} from '../data/datasets.js'

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
  /**
   * The label for each output index: the data's own class labels, sorted — integers, or the
   * text labels of a CSV file (sorted by code unit).
   */
  classes: ClassLabels
  /** The feature names (a CSV's header), when the data had them. */
  features?: string[]
  problem: string
  runId?: string
  createdAt: string
  weightsManifest: {paths: string[]; weights: WeightSpec[]}[]
}

/**
 * The model's feature names: as recorded at training (a CSV's header), else x1 … xN — the names
 * every export, /models and the page use.
 */
export function featureNames(file: Pick<ModelFile, 'architecture' | 'features'>): string[] {
  const d = file.architecture.inputDim
  const recorded = file.features
  if (Array.isArray(recorded) && recorded.length === d && recorded.every((f) => typeof f === 'string')) return recorded
  return Array.from({length: d}, (_, i) => `x${i + 1}`)
}
