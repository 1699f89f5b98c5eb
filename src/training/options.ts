import {DATASET_SPECS, type DatasetParams, PROBLEM_SPEC} from '../data/params.js'
import {usageError} from '../errors.js'
import {defaultOf, type OptionSpec, parseOption} from '../option-spec.js'
import {checkTrainingSize, DATA_LIMITS} from './limits.js'

/**
 * Every training option, its flag, default and bounds, in one table: the data generator's
 * rows (from data/params.ts) and training's own. The train command builds its flags from
 * it and sweeps validate their keys against it, so the two can never disagree. Defaults are
 * applied in resolveTrainOptions and nowhere else.
 */

/** Every training option; the data generator's own parameters come from DatasetParams. */
export interface TrainOptions extends DatasetParams {
  problem: string
  data?: string
  /** Largest --data file read, in bytes. */
  maxDataBytes: number
  /** Longest line of a --data file, in bytes. */
  maxLineBytes: number
  /** Most data rows of a --data file. */
  maxRows: number
  trainFrac: number
  batchSize: number
  seed: number
  dataSeed: number
  warmUpEpochs: number
  adaptationEpochs: number
  lr: number
  lrStep: number
  lrGamma: number
  adaptationLrScale: number
  hiddenDim: number
  numLayers: number
  seedsPerLayer: number
  blendSteps: number
  shadowLr: number
  progressThresh: number
  driftWarn: number
  accThreshold: number
  patience: number
  delta: number
  /** CSV data: share of the rows held out for the test score. */
  testFrac: number
  /** Generated problems: fresh rows in the test set; absent: as many as the training data has. */
  testSamples?: number
  /** Which epoch's model is saved: the best by val_loss, or the last. */
  checkpoint: 'best' | 'last'
  /** Stop in phase 2 after this many epochs without a better val_loss; 0: never. */
  earlyStop: number
  controller: 'underfit' | 'plateau'
  growGate: number
  /** Epochs after a seed becomes active before the next may germinate; absent: patience. */
  cooldown?: number
  jointLrScale: number
}

export type TrainOptionSpec = OptionSpec<keyof TrainOptions>
export const OPTION_SPECS: TrainOptionSpec[] = [
  PROBLEM_SPEC,
  {
    key: 'data',
    flag: 'data',
    kind: 'string',
    group: 'Data',
    description: 'CSV file of features…,label rows to train on instead of a generated problem.',
  },
  {
    key: 'maxDataBytes',
    flag: 'max-data-bytes',
    kind: 'int',
    group: 'Data',
    default: DATA_LIMITS.bytes,
    min: 1,
    max: 2 ** 40,
    description: 'Refuse a --data file larger than this many bytes.',
  },
  {
    key: 'maxLineBytes',
    flag: 'max-line-bytes',
    kind: 'int',
    group: 'Data',
    default: DATA_LIMITS.lineBytes,
    min: 1,
    max: 2 ** 30,
    description: 'Refuse a --data file with a line longer than this many bytes.',
  },
  {
    key: 'maxRows',
    flag: 'max-rows',
    kind: 'int',
    group: 'Data',
    default: DATA_LIMITS.rows,
    min: 1,
    max: 100_000_000,
    description: 'Refuse a --data file with more data rows than this.',
  },
  ...DATASET_SPECS,
  {
    key: 'trainFrac',
    flag: 'train-frac',
    kind: 'float',
    group: 'Data',
    default: 0.8,
    min: 0,
    max: 1,
    exclusive: true,
    description: 'Share of rows used for training; the rest validates.',
  },
  {
    key: 'testFrac',
    flag: 'test-frac',
    kind: 'float',
    group: 'Data',
    default: 0.2,
    min: 0,
    max: 0.9,
    description:
      'With --data: share of the rows held out as the test set, before the train/validation split (0: none).',
  },
  {
    key: 'testSamples',
    flag: 'test-samples',
    kind: 'int',
    group: 'Data',
    min: 0,
    max: 1_000_000,
    description:
      'Generated problems: fresh rows from the same generator, scored once after training (0: none) [default: as many as --samples gives].',
  },
  {
    key: 'dataSeed',
    flag: 'data-seed',
    kind: 'int',
    group: 'Data',
    default: 42,
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
    description: 'Seed of the data generator.',
  },
  {
    key: 'seed',
    flag: 'seed',
    kind: 'int',
    group: 'Training',
    default: 42,
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
    description: 'Seed of the split, initialisation, shuffling and germination: same seed, same backend, same metrics.',
  },
  {
    key: 'batchSize',
    flag: 'batch-size',
    kind: 'int',
    group: 'Training',
    default: 64,
    min: 1,
    max: 1_000_000,
    description: 'Rows per optimiser step.',
  },
  {
    key: 'warmUpEpochs',
    flag: 'warm-up-epochs',
    kind: 'int',
    group: 'Training',
    default: 100,
    min: 0,
    max: 100_000,
    description: 'Phase 1: epochs training the backbone (the original: 50).',
  },
  {
    key: 'adaptationEpochs',
    flag: 'adaptation-epochs',
    kind: 'int',
    group: 'Training',
    default: 150,
    min: 0,
    max: 100_000,
    description: 'Phase 2: epochs with the backbone frozen while seeds may grow (the original: 200).',
  },
  {
    key: 'lr',
    flag: 'lr',
    kind: 'float',
    group: 'Training',
    default: 3e-3,
    min: 0,
    exclusive: true,
    description: 'Adam learning rate of phase 1.',
  },
  {
    key: 'lrStep',
    flag: 'lr-step',
    kind: 'int',
    group: 'Training',
    default: 0,
    min: 0,
    max: 100_000,
    description: 'Multiply the learning rate by --lr-gamma every N epochs of a phase (0: never; the original used 20).',
  },
  {
    key: 'lrGamma',
    flag: 'lr-gamma',
    kind: 'float',
    group: 'Training',
    default: 0.1,
    min: 0,
    max: 1,
    description: 'Learning-rate decay factor for --lr-step.',
  },
  {
    key: 'adaptationLrScale',
    flag: 'adaptation-lr-scale',
    kind: 'float',
    group: 'Training',
    default: 0.1,
    min: 0,
    exclusive: true,
    description: 'Phase 2 learning rate of the output layer, as a multiple of --lr.',
  },
  {
    key: 'checkpoint',
    flag: 'checkpoint',
    kind: 'string',
    group: 'Training',
    default: 'best',
    choices: ['best', 'last'],
    description:
      "The model saved, registered and served: the epoch with the lowest val_loss (val_acc breaks ties), or the last epoch's.",
  },
  {
    key: 'earlyStop',
    flag: 'early-stop',
    kind: 'int',
    group: 'Training',
    default: 0,
    min: 0,
    max: 100_000,
    description:
      'Stop after this many epochs without a lower val_loss, never during warm-up nor while a seed grows (0: never).',
  },
  {
    key: 'hiddenDim',
    flag: 'hidden-dim',
    kind: 'int',
    group: 'Model',
    default: 64,
    min: 1,
    max: 4_096,
    description: 'Width of the backbone (the original: 128).',
  },
  {
    key: 'numLayers',
    flag: 'num-layers',
    kind: 'int',
    group: 'Model',
    default: 8,
    min: 1,
    max: 256,
    description: 'Hidden blocks, each followed by its seeds.',
  },
  {
    key: 'seedsPerLayer',
    flag: 'seeds-per-layer',
    kind: 'int',
    group: 'Seeds',
    default: 1,
    min: 0,
    max: 16,
    description: 'Sentinel seeds after each hidden block (0 disables growth).',
  },
  {
    key: 'blendSteps',
    flag: 'blend-steps',
    kind: 'int',
    group: 'Seeds',
    default: 30,
    min: 1,
    max: 1_000_000,
    description: 'Optimiser steps over which a seed fades in.',
  },
  {
    key: 'shadowLr',
    flag: 'shadow-lr',
    kind: 'float',
    group: 'Seeds',
    default: 1e-3,
    min: 0,
    exclusive: true,
    description: "Adam learning rate of a seed's adapter.",
  },
  {
    key: 'progressThresh',
    flag: 'progress-thresh',
    kind: 'float',
    group: 'Seeds',
    default: 0.6,
    min: 0,
    max: 1,
    exclusive: true,
    description: 'Shadow-training progress (0.01 per step) before blending starts.',
  },
  {
    key: 'driftWarn',
    flag: 'drift-warn',
    kind: 'float',
    group: 'Seeds',
    default: 0.12,
    min: 0,
    description: 'Warn when a seed moves its layer by more than this (1 - cosine); 0 disables.',
  },
  {
    key: 'accThreshold',
    flag: 'acc-threshold',
    kind: 'float',
    group: 'Seeds',
    default: 1,
    min: 0,
    max: 1,
    description: 'Germinate only while val_acc is below this (1: no fixed gate; the original: 0.95).',
  },
  {
    key: 'patience',
    flag: 'patience',
    kind: 'int',
    group: 'Seeds',
    default: 15,
    min: 1,
    max: 100_000,
    description: 'Epochs without improvement before a seed germinates.',
  },
  {
    key: 'delta',
    flag: 'delta',
    kind: 'float',
    group: 'Seeds',
    default: 5e-3,
    min: 0,
    description: 'Smallest val_loss improvement that resets the plateau counter (the original: 5e-4).',
  },
  {
    key: 'controller',
    flag: 'controller',
    kind: 'string',
    group: 'Seeds',
    default: 'underfit',
    choices: ['underfit', 'plateau'],
    description:
      "When a seed germinates. underfit: val_loss stalled while the network under-fits (train_loss high and close to val_loss), a cool-down after each germination, and no more once one did not lower val_loss. plateau: the original's rule, val_loss stalled while val_acc is below --acc-threshold.",
  },
  {
    key: 'growGate',
    flag: 'grow-gate',
    kind: 'float',
    group: 'Seeds',
    default: 0.25,
    min: 0,
    max: 1,
    description:
      'underfit: germinate only while train_loss is at least this share of val_loss (a wider gap is over-fitting, which growth makes worse).',
  },
  {
    key: 'cooldown',
    flag: 'cooldown',
    kind: 'int',
    group: 'Seeds',
    min: 0,
    max: 100_000,
    description: 'underfit: epochs after a seed becomes active before another may germinate [default: --patience].',
  },
  {
    key: 'jointLrScale',
    flag: 'joint-lr-scale',
    kind: 'float',
    group: 'Seeds',
    default: 1,
    min: 0,
    description:
      'After the first germination, train the backbone too, at this multiple of --lr, so it can use the new capacity (0: keep it frozen, as the original).',
  },
]

export const OPTION_BY_FLAG = new Map(
  OPTION_SPECS.flatMap((s) => [s.flag, ...(s.aliases ?? [])].map((name) => [name, s] as const)),
)
export const OPTION_BY_KEY = new Map(OPTION_SPECS.map((s) => [s.key, s]))

/** Fills defaults and validates; `given` holds values by option key (already typed or text). */
export function resolveTrainOptions(given: Partial<Record<keyof TrainOptions, unknown>>): TrainOptions {
  const out: Record<string, unknown> = {}
  for (const spec of OPTION_SPECS) {
    const raw = given[spec.key]
    if (raw === undefined || raw === null) {
      if (spec.default !== undefined) out[spec.key] = defaultOf(spec)
      continue
    }
    out[spec.key] = parseOption(spec, raw)
  }
  const options = out as unknown as TrainOptions
  if (options.warmUpEpochs + options.adaptationEpochs < 1) {
    throw usageError('Nothing to train: --warm-up-epochs and --adaptation-epochs are both 0', {
      hint: 'Give at least one epoch.',
    })
  }
  checkTrainingSize(options)
  return options
}

/** Options that shape only data read from a CSV file, and only data generated. */
const CSV_ONLY = new Set<keyof TrainOptions>(['data', 'maxDataBytes', 'maxLineBytes', 'maxRows', 'testFrac'])
const GENERATED_ONLY = new Set<keyof TrainOptions>(['problem', 'testSamples', ...DATASET_SPECS.map((s) => s.key)])

/**
 * Does this option shape a run on this data? A generator's parameters apply to the problems
 * they are for (spirals' noise to spirals only) and none to a CSV file; the CSV limits and
 * --test-frac to CSV files only; the split, the data seed and training to every run.
 */
export function optionApplies(spec: TrainOptionSpec, data: {kind: 'generated' | 'csv'; problem: string}): boolean {
  if (data.kind === 'csv') return !GENERATED_ONLY.has(spec.key)
  if (CSV_ONLY.has(spec.key)) return false
  return spec.problems === undefined || spec.problems.includes(data.problem)
}

/** The options a run's record keeps: those that apply to its data (optionApplies), in table order. */
export function appliedOptions(
  options: TrainOptions,
  data: {kind: 'generated' | 'csv'; problem: string},
): Partial<TrainOptions> {
  const out: Record<string, unknown> = {}
  for (const spec of OPTION_SPECS) {
    if (optionApplies(spec, data) && options[spec.key] !== undefined) out[spec.key] = options[spec.key]
  }
  return out as Partial<TrainOptions>
}
