import {notFound} from '../errors.js'
import {type Architecture, type ClassLabels, featureNames} from '../model/model-file.js'
import {createJsPredictor} from '../model/predictor.js'
import {decodeModel, type LoadedModel} from '../model/serialize.js'
import {assertSafeId} from '../store/paths.js'
import type {Store} from '../store/store.js'
import type {RunRecord} from '../tracking/types.js'
import {resolveTrainOptions} from '../training/options.js'
import {prepareData} from '../training/prepare.js'

/**
 * The decision boundary of a model over its first two features, with the run's validation
 * points on top. Computed here rather than in the page through /predict: one small JSON answer
 * instead of thousands of rows posted back and forth, no prediction traffic counted against the
 * served model, and it works in `morpho ui`, which has no /predict. The other features are held
 * at their training mean, so the picture is the slice of the model through the data's centre.
 */

export interface BoundaryView {
  source: {run: string} | {model: string; version: number}
  /** The model's input feature count; the picture varies features 1 and 2. */
  features: number
  /** Label of each class index (integers, or a CSV file's text labels). */
  classes: ClassLabels
  /** The model's feature names (a CSV's header, else x1 … xN): the axes are the first two. */
  featureNames: string[]
  x: {feature: 0; min: number; max: number}
  y: {feature: 1; min: number; max: number}
  /** Raw values held for features 3 and up: the training mean. */
  fixed: number[]
  /**
   * nx × ny cells, row-major starting at (x.min, y.min): cell (i, j) is index j·nx + i and its
   * centre is x.min + (i + ½)·(x.max − x.min)/nx. `cls` is the predicted class index, `p` its probability.
   */
  grid: {nx: number; ny: number; cls: number[]; p: number[]}
  /** Validation points (at most MAX_POINTS): features 1 and 2, true class index, predicted class index. */
  points: {x: number[]; y: number[]; cls: number[]; pred: number[]} | null
  /** Share of the shown points predicted right (with all their features), or null without points. */
  accuracy: number | null
  /** Why there are no points, when there are none. */
  note: string | null
}

export interface ProbaPredictor {
  predictProba(rows: Float32Array, n: number): Float32Array
}

export const MAX_POINTS = 1500
/** Multiply-adds per boundary: keeps the pure-JS predictor near a second on the largest models. */
const GRID_BUDGET = 4e8
const GRID_MIN = 24
const GRID_MAX = 96
/** Multiply-adds between yields to the event loop, so a server keeps answering while it computes. */
const CHUNK_BUDGET = 2e7
/** Runs larger than this are not regenerated for the picture (a crafted run.json cannot make us work forever). */
const MAX_SAMPLES = 200_000

interface Points {
  /** Raw feature rows, row-major. */
  rows: Float32Array
  n: number
  cls: number[]
}

/** GET /api/runs/{id}/boundary: the run's own saved model. */
export async function runBoundary(store: Store, id: string): Promise<BoundaryView> {
  assertSafeId('run id', id)
  const record = await store.runs.get(id)
  const files = typeof record.model === 'string' ? await store.runs.modelFiles(id) : undefined
  if (!files) {
    throw notFound(`Run "${id}" has no saved model`, {hint: 'Only completed runs save a model.', details: {run: id}})
  }
  const loaded = decodeModel(files, `run ${id}`)
  const points = await validationPoints(record)
  return boundaryOf({run: id}, loaded, createJsPredictor(loaded), points)
}

/** The boundary of a loaded model (the served one), with its run's validation points when the run is in the store. */
export async function modelBoundary(
  source: {model: string; version: number},
  loaded: LoadedModel,
  predictor: ProbaPredictor,
  store: Store,
  runId: string | undefined,
): Promise<BoundaryView> {
  let points: Points | string
  if (runId === undefined) {
    points = 'the model does not name the run that trained it'
  } else {
    try {
      points = await validationPoints(await store.runs.get(assertSafeId('run id', runId)))
    } catch (err) {
      points = `run ${runId} is not readable here (${(err as Error).message})`
    }
  }
  return boundaryOf(source, loaded, predictor, points)
}

/**
 * The run's validation split, regenerated from its recorded parameters the way training made it
 * (same generator, data seed, split seed and fraction), in raw feature units. A CSV run is
 * reread only while the file still has the recorded sha256. Returns why not, as text, otherwise.
 */
export async function validationPoints(record: RunRecord): Promise<Points | string> {
  const samples = record.data?.samples
  if (typeof samples === 'number' && samples > MAX_SAMPLES) return `the run has ${samples} samples; too many to redraw`
  const given: Record<string, unknown> = {...record.params}
  if (record.data?.kind === 'csv') {
    if (typeof record.data.path !== 'string') return 'the run does not record its data file'
    given.data = record.data.path
  }
  let prepared: Awaited<ReturnType<typeof prepareData>>
  try {
    prepared = await prepareData(resolveTrainOptions(given))
  } catch (err) {
    return `the run's data cannot be regenerated (${(err as Error).message})`
  }
  if (record.data?.kind === 'csv' && prepared.source.sha256 !== record.data.sha256) {
    return `${record.data.path} changed since the run trained on it`
  }
  const {valX, valY, nVal, features} = prepared.data
  const {mean, std} = prepared.scaler
  const step = Math.max(1, nVal / MAX_POINTS)
  const picks: number[] = []
  for (let k = 0; Math.floor(k) < nVal; k += step) picks.push(Math.floor(k))
  const rows = new Float32Array(picks.length * features)
  const cls: number[] = []
  picks.forEach((r, i) => {
    for (let f = 0; f < features; f++) rows[i * features + f] = valX[r * features + f]! * std[f]! + mean[f]!
    cls.push(valY[r]!)
  })
  return {rows, n: picks.length, cls}
}

async function boundaryOf(
  source: BoundaryView['source'],
  loaded: LoadedModel,
  predictor: ProbaPredictor,
  points: Points | string,
): Promise<BoundaryView> {
  const {architecture: arch, scaler, classes} = loaded.file
  const d = arch.inputDim
  if (d < 2) {
    throw notFound(`No decision boundary: the model takes ${d} feature; the picture needs 2`, {details: {features: d}})
  }
  const usable = typeof points === 'object' && points.n > 0 ? points : undefined
  const range = (f: 0 | 1) => {
    let lo = Number.POSITIVE_INFINITY
    let hi = Number.NEGATIVE_INFINITY
    if (usable) {
      for (let r = 0; r < usable.n; r++) {
        const v = usable.rows[r * d + f]!
        if (v < lo) lo = v
        if (v > hi) hi = v
      }
    } else {
      lo = scaler.mean[f]! - 3 * scaler.std[f]!
      hi = scaler.mean[f]! + 3 * scaler.std[f]!
    }
    const pad = (hi - lo) * 0.08 || 1
    return {feature: f, min: round(lo - pad), max: round(hi + pad)}
  }
  const x = range(0) as BoundaryView['x']
  const y = range(1) as BoundaryView['y']
  const fixed = scaler.mean.slice(2)
  const cost = rowCost(arch, loaded)
  const n = Math.max(GRID_MIN, Math.min(GRID_MAX, Math.floor(Math.sqrt(GRID_BUDGET / cost))))
  const grid = new Float32Array(n * n * d)
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) {
      const o = (j * n + i) * d
      grid[o] = x.min + ((i + 0.5) * (x.max - x.min)) / n
      grid[o + 1] = y.min + ((j + 0.5) * (y.max - y.min)) / n
      for (let f = 2; f < d; f++) grid[o + f] = fixed[f - 2]!
    }
  }
  const cells = await predictInChunks(predictor, grid, n * n, d, arch.numClasses, cost)
  let shown: BoundaryView['points'] = null
  let accuracy: number | null = null
  if (usable) {
    const pred = await predictInChunks(predictor, usable.rows, usable.n, d, arch.numClasses, cost)
    const px: number[] = []
    const py: number[] = []
    let right = 0
    for (let r = 0; r < usable.n; r++) {
      px.push(round(usable.rows[r * d]!))
      py.push(round(usable.rows[r * d + 1]!))
      if (pred.cls[r] === usable.cls[r]) right++
    }
    shown = {x: px, y: py, cls: usable.cls, pred: pred.cls}
    accuracy = right / usable.n
  }
  return {
    source,
    features: d,
    classes,
    featureNames: featureNames(loaded.file),
    x,
    y,
    fixed: fixed.map(round),
    grid: {nx: n, ny: n, cls: cells.cls, p: cells.p.map((v) => Math.round(v * 1000) / 1000)},
    points: shown,
    accuracy,
    note: typeof points === 'string' ? points : usable ? null : 'the run has no validation rows',
  }
}

async function predictInChunks(
  predictor: ProbaPredictor,
  rows: Float32Array,
  n: number,
  d: number,
  k: number,
  cost: number,
): Promise<{cls: number[]; p: number[]}> {
  const per = Math.max(1, Math.floor(CHUNK_BUDGET / cost))
  const cls: number[] = []
  const p: number[] = []
  for (let start = 0; start < n; start += per) {
    const count = Math.min(per, n - start)
    const probs = predictor.predictProba(rows.subarray(start * d, (start + count) * d), count)
    for (let r = 0; r < count; r++) {
      let best = 0
      for (let c = 1; c < k; c++) if (probs[r * k + c]! > probs[r * k + best]!) best = c
      cls.push(best)
      p.push(probs[r * k + best]!)
    }
    if (start + count < n) await new Promise((resolve) => setImmediate(resolve))
  }
  return {cls, p}
}

/** Multiply-adds of one forward pass: backbone, the seeds that contribute, the head. */
function rowCost(arch: Architecture, loaded: LoadedModel): number {
  const h = arch.hiddenDim
  const seeds = loaded.file.seeds.filter((s) => s.state !== 'dormant' && s.alpha !== 0).length
  return arch.inputDim * h + arch.numLayers * h * h + seeds * 8 * h * h + h * arch.numClasses
}

function round(v: number): number {
  return Math.round(v * 1e4) / 1e4
}
