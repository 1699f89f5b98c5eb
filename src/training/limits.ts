import {splitSizes} from '../data/split.js'
import {usageError} from '../errors.js'
import type {TrainOptions} from './options.js'

/**
 * How big a training run may get. Every size flag has its own bound in the option table;
 * these are the bounds on what the flags make together, checked before anything is
 * allocated. They keep memory small and keep every piece of work the loop cannot break
 * (one forward and backward pass of one batch) well under a second, so Ctrl-C and SIGTERM
 * are honoured within one: a batch of 64 rows through 19 M parameters took about 0.1 s on
 * wasm on the two-core development machine.
 */

/** Parameters of the network once every seed has grown (weights, Adam state and gradients come to ~4×). */
export const MAX_PARAMETERS = 20_000_000
/** Rows in a batch × parameters: about 0.3 s of one forward and backward pass on wasm here. */
export const MAX_STEP_WORK = 4_000_000_000
/** Rows × features a generated problem may have: generating them takes up to about 0.5 s here (spheres), in one piece. */
export const MAX_GENERATED_CELLS = 4_000_000

/** Defaults of --max-data-bytes, --max-line-bytes and --max-rows. */
export const DATA_LIMITS = {bytes: 100 * 1024 * 1024, lineBytes: 1024 * 1024, rows: 1_000_000} as const

export interface NetworkShape {
  inputDim: number
  hiddenDim: number
  numLayers: number
  seedsPerLayer: number
  numClasses: number
}

/** Trainable parameters with every seed grown: backbone, head, and an H→4H→H adapter per seed. */
export function fullParameterCount(shape: NetworkShape): number {
  const {inputDim: d, hiddenDim: h, numLayers: l, seedsPerLayer: s, numClasses: c} = shape
  const backbone = d * h + h + l * (h * h + h) + h * c + c
  const seeds = l * s * (8 * h * h + 5 * h)
  return backbone + seeds
}

/** Rows of a generated problem. */
export function generatedRows(options: TrainOptions): number {
  if (options.problem === 'clusters' && options.clusterSize !== undefined) {
    return options.clusterCount * options.clusterSize
  }
  if (options.problem === 'spheres' && options.sphereSize !== undefined) return options.sphereCount * options.sphereSize
  return options.samples
}

/**
 * Refuses a run too big to train: USAGE (exit 2) naming the flags that make it so. Before the
 * data is known it checks the smallest network the flags allow (a CSV's width is not known
 * yet); with `data`, the network the data really makes.
 */
export function checkTrainingSize(
  options: TrainOptions,
  data?: {features: number; classes: number; trainRows: number},
): void {
  let rows = data?.trainRows
  if (data === undefined && options.data === undefined) {
    const generated = generatedRows(options)
    rows = splitSizes(generated, options.trainFrac).nTrain
    const cells = generated * options.inputDim
    if (cells > MAX_GENERATED_CELLS) {
      throw usageError(
        `${count(generated)} rows × --input-dim ${options.inputDim} is ${count(cells)} values to generate; morpho generates at most ${count(MAX_GENERATED_CELLS)}`,
        {
          hint: 'Lower --samples (or --cluster-size / --sphere-size) or --input-dim.',
          details: {rows: generated, inputDim: options.inputDim, cells, limit: MAX_GENERATED_CELLS},
        },
      )
    }
  }
  const shape: NetworkShape = {
    inputDim: data?.features ?? (options.data === undefined ? options.inputDim : 1),
    hiddenDim: options.hiddenDim,
    numLayers: options.numLayers,
    seedsPerLayer: options.seedsPerLayer,
    numClasses: data?.classes ?? 2,
  }
  const parameters = fullParameterCount(shape)
  const flags = `--hidden-dim ${options.hiddenDim}, --num-layers ${options.numLayers} and --seeds-per-layer ${options.seedsPerLayer}`
  const where = data ? ` on ${data.features} features and ${data.classes} classes` : ''
  if (parameters > MAX_PARAMETERS) {
    throw usageError(
      `${flags} make a network of ${count(parameters)} parameters${where} once every seed has grown; morpho trains at most ${count(MAX_PARAMETERS)}`,
      {
        hint: 'Lower --hidden-dim (parameters grow with its square), --num-layers or --seeds-per-layer.',
        details: {parameters, limit: MAX_PARAMETERS, ...shape},
      },
    )
  }
  const batch = Math.min(options.batchSize, rows ?? options.batchSize)
  const work = batch * parameters
  if (work > MAX_STEP_WORK) {
    throw usageError(
      `a batch of ${count(batch)} rows through ${count(parameters)} parameters is ${count(work)} multiply-adds per step; morpho allows ${count(MAX_STEP_WORK)}, so that a step (and Ctrl-C) takes well under a second`,
      {
        hint: 'Lower --batch-size, or the network (--hidden-dim, --num-layers, --seeds-per-layer).',
        details: {batch, parameters, work, limit: MAX_STEP_WORK},
      },
    )
  }
}

function count(n: number): string {
  return n.toLocaleString('en-US')
}
