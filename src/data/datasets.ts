import {usageError} from '../errors.js'
import {checkDatasetParams, type DatasetParams, type Problem} from './params.js'
import {Rng} from './rng.js'

/**
 * The five synthetic problems of the original, with its formulas and defaults (their flags,
 * defaults and bounds are in params.ts), and the original's defects fixed on purpose:
 * - the data honours a seed (the original always used 42);
 * - spirals noise is centred Gaussian (the original's uniform [0,1)·noise pushed every point
 *   up and to the right);
 * - padding works for odd n, and every problem yields exactly `samples` rows;
 * - cluster and sphere sizes are honoured when given (the original ignored them);
 * - parameters are validated before anything is generated;
 * - rows are shuffled for every problem, so no ordering can leak into a split.
 */

/** A class label: an integer of the data, or a CSV file's text label. */
export type ClassLabel = number | string
/** The labels of a model's classes: all numbers or all text. */
export type ClassLabels = number[] | string[]

export interface Dataset {
  /** Row-major n × features. */
  x: Float32Array
  /** Class index 0..classes.length-1 of each row. */
  y: Int32Array
  n: number
  features: number
  /** The label of each class index: integers sorted ascending, or a CSV file's text labels sorted by code unit. */
  classes: ClassLabels
  problem: string
}

/**
 * Generates a problem's data, deterministically from dataSeed. Validates params first.
 * `sample` names a draw: 'train' (the default) gives the rows a run trains and validates on;
 * another name gives fresh rows from the same distribution (the same cluster centres, say),
 * e.g. 'test' for a held-out test set that shares no draw with the training rows.
 */
export function generate(problem: string, params: DatasetParams, dataSeed: number, sample = 'train'): Dataset {
  validateDatasetParams(problem, params)
  // One stream per problem, so two problems with the same seed share no draws (not even padding).
  const root = new Rng(dataSeed).fork(problem)
  const rows = sample === 'train' ? root : root.fork(`sample:${sample}`)
  const raw = GENERATORS[problem](params, rows, root)
  const x = padColumns(raw.points, raw.n, raw.dim, params.inputDim, rows.fork('padding'))
  const order = rows.fork('shuffle').permutation(raw.n)
  const shuffledX = new Float32Array(raw.n * params.inputDim)
  const labels = new Int32Array(raw.n)
  for (let i = 0; i < raw.n; i++) {
    const src = order[i]!
    shuffledX.set(x.subarray(src * params.inputDim, (src + 1) * params.inputDim), i * params.inputDim)
    labels[i] = raw.labels[src]!
  }
  const {y, classes} = indexLabels(labels)
  return {x: shuffledX, y, n: raw.n, features: params.inputDim, classes, problem}
}

/**
 * Checks the parameters a problem uses (and only those: a --sphere-radii that does not match
 * --sphere-count is no reason to refuse spirals): each against its bounds in the option
 * table, then the rules that tie two together. Throws a usage error naming the flag.
 */
export function validateDatasetParams(problem: string, params: DatasetParams): asserts problem is Problem {
  checkDatasetParams(problem, params)
  if (problem === 'clusters') groupSize('cluster', params.clusterCount, params.clusterSize, params.samples)
  if (problem === 'spheres') {
    if (params.sphereRadii.length !== params.sphereCount) {
      throw usageError(
        `--sphere-radii has ${params.sphereRadii.length} radii (${params.sphereRadii.join(',')}) but --sphere-count is ${params.sphereCount}`,
        {
          hint: 'Give one radius per shell, e.g. --sphere-count 3 --sphere-radii 1,2,3.',
          details: {flag: 'sphere-radii', value: params.sphereRadii, sphereCount: params.sphereCount},
        },
      )
    }
    groupSize('sphere', params.sphereCount, params.sphereSize, params.samples)
  }
}

/**
 * Maps label values to class indices by sorted distinct value: labels 3 and 7 become
 * classes [3, 7] and y values 0 and 1.
 */
export function indexLabels(labels: ArrayLike<number>): {y: Int32Array; classes: number[]} {
  const classes = [...new Set(Array.from(labels))].sort((a, b) => a - b)
  const index = new Map(classes.map((value, i) => [value, i]))
  const y = new Int32Array(labels.length)
  for (let i = 0; i < labels.length; i++) y[i] = index.get(labels[i]!)!
  return {y, classes}
}

// ---- generators: rows in generation order, before padding and shuffling ----

interface RawData {
  points: Float64Array
  labels: Int32Array
  n: number
  dim: number
}

/** `rows` draws the points; `shape` what defines the distribution itself (cluster centres). */
const GENERATORS: Record<Problem, (params: DatasetParams, rows: Rng, shape: Rng) => RawData> = {
  spirals,
  moons: (params, root) => {
    const data = makeMoons(params.samples, params.moonNoise, root.fork('points'))
    // The original's "separation" is a horizontal stretch, noise included.
    for (let i = 0; i < data.n; i++) data.points[2 * i] = data.points[2 * i]! * (params.moonSep + 1)
    return data
  },
  'complex-moons': complexMoons,
  clusters,
  spheres,
}

/**
 * Two interleaved spiral arms: t = √U · rotations · 2π, class 0 at (t cos t, t sin t) plus
 * noise, class 1 its point reflection (noise included, as in the original). Class 0 gets
 * ceil(n/2) points and class 1 floor(n/2), reflecting the first floor(n/2) points of class 0.
 */
function spirals(params: DatasetParams, root: Rng): RawData {
  const rng = root.fork('points')
  const n = params.samples
  const half0 = Math.ceil(n / 2)
  const half1 = n - half0
  const turns = params.rotations * 2 * Math.PI
  const t = new Float64Array(half0)
  for (let i = 0; i < half0; i++) t[i] = Math.sqrt(rng.next()) * turns
  const points = new Float64Array(n * 2)
  const labels = new Int32Array(n)
  // Centred Gaussian noise N(0, noise²): the original added noise·U[0,1), which biased
  // every point by +noise/2 in x and y.
  for (let i = 0; i < half0; i++) points[2 * i] = t[i]! * Math.cos(t[i]!) + params.noise * rng.normal()
  for (let i = 0; i < half0; i++) points[2 * i + 1] = t[i]! * Math.sin(t[i]!) + params.noise * rng.normal()
  for (let j = 0; j < half1; j++) {
    const row = half0 + j
    points[2 * row] = -points[2 * j]!
    points[2 * row + 1] = -points[2 * j + 1]!
    labels[row] = 1
  }
  return {points, labels, n, dim: 2}
}

/**
 * scikit-learn's make_moons: floor(n/2) points on the upper unit semicircle (label 0), the
 * rest on the lower one shifted to (1 − cos s, 0.5 − sin s) (label 1), s evenly spaced on
 * [0, π], plus N(0, noise²) on both coordinates.
 */
function makeMoons(n: number, noise: number, rng: Rng): RawData {
  const nOut = Math.floor(n / 2)
  const nIn = n - nOut
  const points = new Float64Array(n * 2)
  const labels = new Int32Array(n)
  for (let i = 0; i < nOut; i++) {
    const s = linspace(i, nOut)
    points[2 * i] = Math.cos(s)
    points[2 * i + 1] = Math.sin(s)
  }
  for (let i = 0; i < nIn; i++) {
    const s = linspace(i, nIn)
    const row = nOut + i
    points[2 * row] = 1 - Math.cos(s)
    points[2 * row + 1] = 1 - Math.sin(s) - 0.5
    labels[row] = 1
  }
  for (let k = 0; k < n * 2; k++) points[k] = points[k]! + noise * rng.normal()
  return {points, labels, n, dim: 2}
}

/** numpy.linspace(0, π, count)[i]; a single point sits at 0. */
function linspace(i: number, count: number): number {
  return count === 1 ? 0 : (Math.PI * i) / (count - 1)
}

/**
 * floor(n/2) points of make_moons (unstretched), then the rest split between two correlated
 * Gaussian clusters: floor half at (2, 2) with cov [[0.5, 0.1], [0.1, 0.5]] (label 0), the
 * others at (−2, −2) with cov [[0.5, −0.1], [−0.1, 0.5]] (label 1).
 */
function complexMoons(params: DatasetParams, root: Rng): RawData {
  const n = params.samples
  const nMoons = Math.floor(n / 2)
  const rest = n - nMoons
  const nA = Math.floor(rest / 2)
  const moons = makeMoons(nMoons, params.moonNoise, root.fork('points'))
  const rng = root.fork('gaussians')
  const points = new Float64Array(n * 2)
  const labels = new Int32Array(n)
  points.set(moons.points)
  labels.set(moons.labels)
  const blobs = [
    {mean: [2, 2], cov: [0.5, 0.1, 0.5], label: 0},
    {mean: [-2, -2], cov: [0.5, -0.1, 0.5], label: 1},
  ]
  for (let i = nMoons; i < n; i++) {
    const blob = blobs[i - nMoons < nA ? 0 : 1]!
    const [l11, l21, l22] = cholesky2(blob.cov[0]!, blob.cov[1]!, blob.cov[2]!)
    const z1 = rng.normal()
    const z2 = rng.normal()
    points[2 * i] = blob.mean[0]! + l11 * z1
    points[2 * i + 1] = blob.mean[1]! + l21 * z1 + l22 * z2
    labels[i] = blob.label
  }
  return {points, labels, n, dim: 2}
}

/** Lower Cholesky factor of the symmetric positive-definite [[a, b], [b, c]]: [l11, l21, l22]. */
function cholesky2(a: number, b: number, c: number): [number, number, number] {
  const l11 = Math.sqrt(a)
  const l21 = b / l11
  return [l11, l21, Math.sqrt(c - l21 * l21)]
}

/**
 * Gaussian blobs around `count` centres on a circle (2-D), a sphere (3-D), or a circle with
 * random N(0,1) extra coordinates (above 3-D), all scaled by clusterSep. Label = index mod 2.
 */
function clusters(params: DatasetParams, root: Rng, shape: Rng): RawData {
  const {clusterCount: count, inputDim: dim} = params
  const sizes = groupSizes(count, params.clusterSize, params.samples)
  const centreRng = shape.fork('centres')
  const centres: number[][] = []
  for (let k = 0; k < count; k++) {
    const a = (2 * Math.PI * k) / count
    let unit: number[]
    if (dim === 2) {
      unit = [Math.cos(a), Math.sin(a)]
    } else if (dim === 3) {
      const phi = (Math.PI * k) / count
      unit = [Math.cos(a) * Math.sin(phi), Math.sin(a) * Math.sin(phi), Math.cos(phi)]
    } else {
      unit = [Math.cos(a), Math.sin(a)]
      for (let j = 2; j < dim; j++) unit.push(centreRng.normal())
    }
    centres.push(unit.map((v) => v * params.clusterSep))
  }
  const rng = root.fork('points')
  const n = sizes.reduce((sum, size) => sum + size, 0)
  const points = new Float64Array(n * dim)
  const labels = new Int32Array(n)
  let row = 0
  sizes.forEach((size, k) => {
    for (let i = 0; i < size; i++, row++) {
      for (let j = 0; j < dim; j++) points[row * dim + j] = centres[k]![j]! + params.clusterStd * rng.normal()
      labels[row] = k % 2
    }
  })
  return {points, labels, n, dim}
}

/**
 * Concentric shells: uniform on a circle (2-D), a sphere (3-D, θ = 2πu, φ = arccos(2v − 1)),
 * or a hypersphere (normalised Gaussian), scaled by the shell's radius, plus N(0, noise²)
 * when noise > 0. Label = shell index mod 2.
 */
function spheres(params: DatasetParams, root: Rng): RawData {
  const {sphereCount: count, inputDim: dim} = params
  const sizes = groupSizes(count, params.sphereSize, params.samples)
  const rng = root.fork('points')
  const n = sizes.reduce((sum, size) => sum + size, 0)
  const points = new Float64Array(n * dim)
  const labels = new Int32Array(n)
  const unit = new Float64Array(dim)
  let row = 0
  sizes.forEach((size, k) => {
    const radius = params.sphereRadii[k]!
    for (let i = 0; i < size; i++, row++) {
      unitVector(dim, rng, unit)
      for (let j = 0; j < dim; j++) {
        const noise = params.sphereNoise > 0 ? params.sphereNoise * rng.normal() : 0
        points[row * dim + j] = radius * unit[j]! + noise
      }
      labels[row] = k % 2
    }
  })
  return {points, labels, n, dim}
}

function unitVector(dim: number, rng: Rng, out: Float64Array): void {
  if (dim === 2) {
    const angle = 2 * Math.PI * rng.next()
    out[0] = Math.cos(angle)
    out[1] = Math.sin(angle)
  } else if (dim === 3) {
    const theta = 2 * Math.PI * rng.next()
    const phi = Math.acos(2 * rng.next() - 1)
    out[0] = Math.sin(phi) * Math.cos(theta)
    out[1] = Math.sin(phi) * Math.sin(theta)
    out[2] = Math.cos(phi)
  } else {
    let norm = 0
    // A zero vector has no direction; it is vanishingly rare, but redraw rather than divide by 0.
    while (norm === 0) {
      norm = 0
      for (let j = 0; j < dim; j++) {
        out[j] = rng.normal()
        norm += out[j]! * out[j]!
      }
      norm = Math.sqrt(norm)
    }
    for (let j = 0; j < dim; j++) out[j] = out[j]! / norm
  }
}

/** The given size for every group, else floor(samples / count) with the remainder to the first groups. */
function groupSizes(count: number, size: number | undefined, samples: number): number[] {
  if (size !== undefined) return Array.from({length: count}, () => size)
  const base = Math.floor(samples / count)
  const extra = samples % count
  return Array.from({length: count}, (_, k) => base + (k < extra ? 1 : 0))
}

/** Appends i.i.d. N(0, 1) columns up to inputDim (a no-op when the data already has them). */
function padColumns(points: Float64Array, n: number, dim: number, inputDim: number, rng: Rng): Float32Array {
  const out = new Float32Array(n * inputDim)
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) out[i * inputDim + j] = points[i * dim + j]!
    for (let j = dim; j < inputDim; j++) out[i * inputDim + j] = rng.normal()
  }
  return out
}

// ---- validation helpers ----

function groupSize(kind: 'cluster' | 'sphere', count: number, size: number | undefined, samples: number): void {
  const group = kind === 'cluster' ? 'cluster' : 'shell'
  if (size !== undefined) {
    if (count * size < 2) {
      throw usageError(
        `--${kind}-size ${size} with --${kind}-count ${count} gives ${count * size} point; at least 2 are needed`,
        {
          hint: `Pass --${kind}-size 2 or more.`,
          details: {flag: `${kind}-size`, value: size, [`${kind}Count`]: count},
        },
      )
    }
    return
  }
  if (samples < count) {
    throw usageError(`--samples ${samples} is fewer than --${kind}-count ${count}: some ${group}s would be empty`, {
      hint: `Pass --samples ${count} or more, or fewer ${group}s.`,
      details: {flag: 'samples', value: samples, [`${kind}Count`]: count},
    })
  }
}
