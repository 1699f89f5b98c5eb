import {basename, extname, resolve} from 'node:path'
import {loadCsv} from '../data/csv.js'
import {type ClassLabel, type ClassLabels, type Dataset, generate} from '../data/datasets.js'
import {Rng} from '../data/rng.js'
import {applyScaler, fitScaler, type Scaler} from '../data/scaler.js'
import {holdOut, splitDataset, splitSizes} from '../data/split.js'
import {invalidData, usageError} from '../errors.js'
import type {TrainOptions} from './options.js'
import type {PreparedData} from './trainer.js'

/** The data a run trained on, as its record keeps it. */
export interface DataSource {
  kind: 'generated' | 'csv'
  problem: string
  /** For csv: the absolute path and the sha256 of the file. */
  path?: string
  sha256?: string
  /** Rows generated or read (for csv, the test rows included; generated test rows are extra). */
  samples: number
  features: number
  classes: number
  train: number
  val: number
  /** Rows in the held-out test set (0: none; absent in runs recorded before there was one). */
  test?: number
}

/** Rows that only score the final model: standardised like the rest, with class indices. */
export interface TestSet {
  x: Float32Array
  y: Int32Array
  n: number
}

export interface Prepared {
  data: PreparedData
  scaler: Scaler
  /** Label of each class index. */
  classes: ClassLabels
  source: DataSource
  /** The problem name a run is filed under (and its default model name). */
  problem: string
  /** Feature names from a CSV header row, when the file has one. */
  features?: string[]
  /** Never given to the trainer: it scores the saved model once, after training. */
  test?: TestSet
}

/** Fewest rows each side of the split may have: one validation row makes val_acc 0 or 1. */
export const MIN_SPLIT_ROWS = 2

/**
 * Generates or loads the data, splits it with the run's seed, and standardises it with a
 * scaler fitted on the training split only (the original fitted on everything first).
 * Aborting `signal` stops a CSV file being read.
 *
 * The test set comes from the data seed, not the run's seed, so runs with different seeds
 * are scored on the same rows: for a generated problem, fresh rows of the same generator;
 * for a CSV file, --test-frac of its rows, held out before the train/validation split.
 */
export async function prepareData(
  options: TrainOptions,
  cwd: string = process.cwd(),
  signal?: AbortSignal,
): Promise<Prepared> {
  let dataset: Dataset
  let source: Pick<DataSource, 'kind' | 'path' | 'sha256'>
  let problem: string
  let features: string[] | undefined
  let test: Dataset | undefined
  if (options.data) {
    const limits = {bytes: options.maxDataBytes, lineBytes: options.maxLineBytes, rows: options.maxRows}
    const csv = await loadCsv(resolve(cwd, options.data), limits, signal)
    dataset = csv
    features = csv.header?.slice(0, csv.features)
    source = {kind: 'csv', path: csv.path, sha256: csv.sha256}
    problem = csvProblemName(csv.path)
    checkSplittable(csv.n, options, csv.path)
    const {nTest} = splitOf(csv.n, options, true)
    if (nTest > 0) {
      const held = holdOut(csv, nTest, new Rng(options.dataSeed).fork('test'))
      dataset = held.rest
      test = held.test
    }
  } else {
    dataset = generate(options.problem, options, options.dataSeed)
    source = {kind: 'generated'}
    problem = options.problem
    test = generateTest(options)
    checkSplittable(dataset.n, options, undefined)
  }
  if (dataset.classes.length < 2) {
    throw invalidData(
      `The data has only one class (label ${JSON.stringify(dataset.classes[0])}); a classifier needs at least 2`,
      {
        hint: 'Check the label column, or the --cluster-count / --sphere-count flags.',
      },
    )
  }
  const {train, val} = splitDataset(dataset, options.trainFrac, new Rng(options.seed).fork('split'))
  const scaler = fitScaler(train.x, train.n, train.features)
  const data: PreparedData = {
    trainX: applyScaler(train.x, train.n, scaler),
    trainY: train.y,
    nTrain: train.n,
    valX: applyScaler(val.x, val.n, scaler),
    valY: val.y,
    nVal: val.n,
    features: dataset.features,
    classes: dataset.classes.length,
  }
  return {
    data,
    scaler,
    classes: dataset.classes,
    problem,
    ...(features ? {features} : {}),
    ...(test ? {test: testSet(test, dataset.classes, scaler)} : {}),
    source: {
      ...source,
      problem,
      samples: dataset.n + (options.data ? (test?.n ?? 0) : 0),
      features: dataset.features,
      classes: dataset.classes.length,
      train: train.n,
      val: val.n,
      test: test?.n ?? 0,
    },
  }
}

/** Fresh rows from the problem's generator: the same distribution, another draw. */
function generateTest(options: TrainOptions): Dataset | undefined {
  const n = options.testSamples
  if (n === 0) return undefined
  if (n === undefined) return generate(options.problem, options, options.dataSeed, 'test')
  const groups =
    options.problem === 'clusters' ? options.clusterCount : options.problem === 'spheres' ? options.sphereCount : 1
  if (n < Math.max(MIN_SPLIT_ROWS, groups)) {
    throw usageError(
      `--test-samples ${n} is too few: a test set needs at least ${Math.max(MIN_SPLIT_ROWS, groups)} rows`,
      {hint: 'Give more, or --test-samples 0 for no test set.', details: {flag: 'test-samples', value: n}},
    )
  }
  return generate(
    options.problem,
    {...options, samples: n, clusterSize: undefined, sphereSize: undefined},
    options.dataSeed,
    'test',
  )
}

/** Standardised with the training scaler, labels as the training classes' indices. */
function testSet(ds: Dataset, classes: ClassLabels, scaler: Scaler): TestSet {
  const index = new Map<ClassLabel, number>(classes.map((value, i) => [value, i]))
  const y = new Int32Array(ds.n)
  for (let i = 0; i < ds.n; i++) {
    const label = ds.classes[ds.y[i]!]!
    const k = index.get(label)
    if (k === undefined) {
      throw invalidData(`The test rows have label ${JSON.stringify(label)}, which the training rows never have`, {
        hint: 'Use more data or a smaller --test-frac, so every class is in the training rows.',
      })
    }
    y[i] = k
  }
  return {x: applyScaler(ds.x, ds.n, scaler), y, n: ds.n}
}

/**
 * The rows of each split: a CSV file's test rows (--test-frac) come off first, then
 * --train-frac divides the rest. Generated problems draw their test rows apart.
 */
function splitOf(n: number, options: TrainOptions, csv: boolean): {nTest: number; nTrain: number; nVal: number} {
  const nTest = csv && options.testFrac > 0 ? Math.floor(options.testFrac * n + 1e-7) : 0
  return {nTest, ...splitSizes(n - nTest, options.trainFrac)}
}

/** Refuses data too small to leave MIN_SPLIT_ROWS rows in each split. */
function checkSplittable(n: number, options: TrainOptions, csv: string | undefined): void {
  const testing = csv !== undefined && options.testFrac > 0
  const fits = (rows: number) => {
    const s = splitOf(rows, options, csv !== undefined)
    return s.nTrain >= MIN_SPLIT_ROWS && s.nVal >= MIN_SPLIT_ROWS && (!testing || s.nTest >= MIN_SPLIT_ROWS)
  }
  if (fits(n)) return
  const {nTest, nTrain, nVal} = splitOf(n, options, csv !== undefined)
  let needed = n + 1
  while (!fits(needed)) needed++
  const what = csv === undefined ? `${n} generated rows are` : `${csv} has ${n} data rows,`
  const held = testing ? `--test-frac ${options.testFrac} holds out ${nTest} test rows and ` : ''
  const message = `${what} too few to split: ${held}--train-frac ${options.trainFrac} leaves ${nTrain} training and ${nVal} validation rows, and each ${testing ? 'part' : 'side'} needs at least ${MIN_SPLIT_ROWS}`
  const details = {
    rows: n,
    ...(testing ? {test: nTest} : {}),
    train: nTrain,
    val: nVal,
    trainFrac: options.trainFrac,
    needed,
  }
  const hint = `Use ${needed} rows or more${csv === undefined ? ' (--samples)' : ''}, or a --train-frac nearer 0.5${testing ? ' (or --test-frac 0: no test set)' : ''}.`
  throw csv === undefined
    ? usageError(message, {hint, details: {flag: 'samples', ...details}})
    : invalidData(message, {hint, details: {path: csv, ...details}})
}

/** A CSV run is filed under its file name: data/iris-2.csv → iris-2. */
export function csvProblemName(path: string): string {
  const stem = basename(path, extname(path))
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
  return stem.slice(0, 64) || 'csv'
}
