import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {expect} from 'vitest'
import {Rng} from '../../src/data/rng.js'
import type {Architecture, SavedSeed} from '../../src/model/model-file.js'
import {saveModel} from '../../src/model/serialize.js'
import type {PredictView} from '../../src/serve/predict-view.js'
import type {RunRecord} from '../../src/tracking/types.js'
import {validationPoints} from '../../src/ui/boundary.js'
import {parseJson, runCli} from '../helpers/cli.js'
import {makeRun} from '../helpers/runs.js'

/** Small models, real runs and the CLI calls the export tests share. */

export const PROBLEMS = ['spirals', 'moons', 'complex-moons', 'clusters', 'spheres'] as const

/** A few epochs on little data, with a plateau patience of one epoch so seeds germinate and blend. */
const TINY = [
  ...['--samples', '200', '--hidden-dim', '8', '--num-layers', '2', '--warm-up-epochs', '3'],
  ...['--adaptation-epochs', '6', '--patience', '1', '--delta', '0.01', '--blend-steps', '4'],
  ...['--progress-thresh', '0.1', '--register-at', '0', '--stage-at', 'off', '--quiet', '--json'],
]

/** Trains a tiny model of `problem` with the built CLI; it is registered as `problem` v1. */
export async function trainTiny(home: string, problem: string): Promise<RunRecord> {
  const res = await runCli(['train', '--problem', problem, ...TINY, '--home', home])
  expect(res.code, res.stderr).toBe(0)
  const runId = parseJson<{run: {runId: string}}>(res.stdout).run.runId
  return JSON.parse(await readFile(join(home, 'runs', runId, 'run.json'), 'utf8')) as RunRecord
}

/** The run's validation rows in raw feature units, regenerated as training made them. */
export async function validationRows(run: RunRecord): Promise<number[][]> {
  const points = await validationPoints(run)
  if (typeof points === 'string') throw new Error(points)
  const d = points.rows.length / points.n
  return Array.from({length: points.n}, (_, r) => Array.from(points.rows.subarray(r * d, (r + 1) * d)))
}

export const SYNTHETIC_ARCH: Architecture = {inputDim: 3, hiddenDim: 8, numLayers: 2, seedsPerLayer: 2, numClasses: 3}

/**
 * Seed states for the synthetic models. Every germinated seed has non-zero weights, so a
 * seed the export should leave out (training) or include (blending, active) changes the answer.
 */
export const SEED_CASES: Record<string, SavedSeed[]> = {
  'no live seed': seeds({seed1_2: ['training', 0]}),
  'one live seed': seeds({seed1_1: ['active', 1], seed2_1: ['training', 0]}),
  'two live seeds, one mid-blend': seeds({
    seed1_1: ['active', 1],
    seed1_2: ['training', 0],
    seed2_2: ['blending', 0.375],
  }),
}

function seeds(states: Record<string, [SavedSeed['state'], number]>): SavedSeed[] {
  const out: SavedSeed[] = []
  for (let layer = 0; layer < SYNTHETIC_ARCH.numLayers; layer++) {
    for (let j = 0; j < SYNTHETIC_ARCH.seedsPerLayer; j++) {
      const id = `seed${layer + 1}_${j + 1}`
      const [state, alpha] = states[id] ?? ['dormant', 0]
      out.push({id, layer, state, alpha})
    }
  }
  return out
}

/**
 * A completed run whose model has random weights (a scaler that is not the identity, labels
 * 0, 2, 5), registered as `model` with the built CLI. Returns the run id and version.
 */
export async function syntheticVersion(
  home: string,
  model: string,
  seedStates: SavedSeed[],
  seed = 7,
): Promise<{runId: string; version: number}> {
  const run = await makeRun(home, {problem: model, withModel: false, seed})
  const rng = new Rng(seed)
  const a = SYNTHETIC_ARCH
  const weights: {spec: {name: string; shape: number[]; dtype: 'float32'}; values: Float32Array}[] = []
  const add = (name: string, shape: number[]) =>
    weights.push({
      spec: {name, shape, dtype: 'float32'},
      values: Float32Array.from({length: shape[0]! * (shape[1] ?? 1)}, () => (rng.next() * 2 - 1) * 0.8),
    })
  const dense = (prefix: string, i: number, o: number, kernel = 'kernel', bias = 'bias') => {
    add(`${prefix}/${kernel}`, [i, o])
    add(`${prefix}/${bias}`, [o])
  }
  dense('input', a.inputDim, a.hiddenDim)
  for (let i = 1; i <= a.numLayers; i++) dense(`hidden${i}`, a.hiddenDim, a.hiddenDim)
  dense('output', a.hiddenDim, a.numClasses)
  for (const s of seedStates) {
    if (s.state === 'dormant') continue
    dense(s.id, a.hiddenDim, 4 * a.hiddenDim, 'w1', 'b1')
    dense(s.id, 4 * a.hiddenDim, a.hiddenDim, 'w2', 'b2')
  }
  await saveModel(join(home, 'runs', run.id, 'model'), {
    architecture: a,
    seeds: seedStates,
    scaler: {mean: [0.5, -1, 2], std: [1.5, 0.4, 3]},
    classes: [0, 2, 5],
    problem: model,
    runId: run.id,
    weights,
  })
  const res = await runCli(['register', run.id, '--model', model, '--json', '--home', home])
  expect(res.code, res.stderr).toBe(0)
  return {runId: run.id, version: parseJson<{version: number}>(res.stdout).version}
}

/** Raw rows around the synthetic scaler's range. */
export function syntheticRows(n: number, seed = 3): number[][] {
  const rng = new Rng(seed)
  return Array.from({length: n}, () => [rng.normal() * 2 + 0.5, rng.normal() * 0.5 - 1, rng.normal() * 4 + 2])
}

/** `morpho predict` from the registry, as a user runs it. */
export async function predictRegistry(
  home: string,
  ref: {model: string; version: number},
  rows: number[][],
): Promise<PredictView> {
  const res = await runCli(
    ['predict', '--model', ref.model, '--version', String(ref.version), '--json', '--home', home],
    {input: JSON.stringify(rows)},
  )
  expect(res.code, res.stderr).toBe(0)
  return parseJson<PredictView>(res.stdout)
}

export async function exportCli(home: string, ref: string, format: string, out: string, ...more: string[]) {
  const res = await runCli(['export', ref, '--format', format, '--out', out, '--json', '--home', home, ...more])
  return {
    ...res,
    json: res.code === 0 ? parseJson<import('../../src/export/export.js').ExportResult>(res.stdout) : undefined,
  }
}

/** The largest absolute difference between two equally shaped lists of probability rows. */
export function maxDiff(a: ArrayLike<number>[] | number[][], b: ArrayLike<number>[] | number[][]): number {
  expect(a.length).toBe(b.length)
  let max = 0
  for (let r = 0; r < a.length; r++) {
    expect(a[r]!.length).toBe(b[r]!.length)
    for (let j = 0; j < a[r]!.length; j++) max = Math.max(max, Math.abs(a[r]![j]! - b[r]![j]!))
  }
  return max
}

/** Differences measured by the tests, printed once at the end for the record. */
export const measured: Record<string, number> = {}
