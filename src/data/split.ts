import {usageError} from '../errors.js'
import type {ClassLabels, Dataset} from './datasets.js'
import {Rng} from './rng.js'

/**
 * A seeded random train/val split, like the original's random_split: train gets
 * floor(trainFrac · n) rows, val the rest. The floor tolerates binary rounding, so 0.29 of
 * 100 rows is 29 (not 28, as 0.29 * 100 = 28.999999999999996 would give).
 *
 * A numeric seed uses the stream new Rng(seed).fork('split'), so it never replays the data
 * stream of the same seed; an Rng is used as given. Both halves keep the full dataset's
 * `classes`, so class indices mean the same thing even when val lacks a class.
 */
export function splitDataset(ds: Dataset, trainFrac: number, seed: number | Rng): {train: Dataset; val: Dataset} {
  if (!Number.isFinite(trainFrac) || trainFrac <= 0 || trainFrac >= 1) {
    throw usageError(`--train-frac must be between 0 and 1 (exclusive), got ${trainFrac}`, {
      hint: 'Use a fraction such as 0.8 (80% training, 20% validation).',
      details: {flag: 'train-frac', value: trainFrac},
    })
  }
  const {nTrain, nVal} = splitSizes(ds.n, trainFrac)
  if (nTrain < 1 || nVal < 1) {
    throw usageError(
      `--train-frac ${trainFrac} of ${ds.n} rows gives ${nTrain} training and ${nVal} validation rows; both need at least 1`,
      {
        hint: 'Use more data or a --train-frac closer to 0.5.',
        details: {flag: 'train-frac', value: trainFrac, rows: ds.n, train: nTrain, val: nVal},
      },
    )
  }
  const rng = typeof seed === 'number' ? new Rng(seed).fork('split') : seed
  const order = rng.permutation(ds.n)
  return {train: take(ds, order.subarray(0, nTrain)), val: take(ds, order.subarray(nTrain))}
}

/** How many of `n` rows go to training and to validation at `trainFrac`. */
export function splitSizes(n: number, trainFrac: number): {nTrain: number; nVal: number} {
  const nTrain = Math.floor(trainFrac * n + 1e-7)
  return {nTrain, nVal: n - nTrain}
}

/**
 * Holds out `nTest` random rows as a test set before anything else sees the data; the rest
 * is what the train/validation split then divides.
 */
export function holdOut(ds: Dataset, nTest: number, rng: Rng): {rest: Dataset; test: Dataset} {
  const order = rng.permutation(ds.n)
  return {rest: take(ds, order.subarray(nTest)), test: take(ds, order.subarray(0, nTest))}
}

function take(ds: Dataset, rows: Uint32Array): Dataset {
  const f = ds.features
  const x = new Float32Array(rows.length * f)
  const y = new Int32Array(rows.length)
  rows.forEach((src, i) => {
    x.set(ds.x.subarray(src * f, (src + 1) * f), i * f)
    y[i] = ds.y[src]!
  })
  return {x, y, n: rows.length, features: f, classes: ds.classes.slice() as ClassLabels, problem: ds.problem}
}
