import {readFile, writeFile} from 'node:fs/promises'
import {createRequire} from 'node:module'
import {join} from 'node:path'
import type * as Ort from 'onnxruntime-node'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {decodeOnnx} from '../../src/export/onnx-proto.js'
import type {PredictView} from '../../src/serve/predict-view.js'
import {parseJson, runCli, tempDir} from '../helpers/cli.js'
import {expectShape} from '../helpers/shapes.js'
import {
  exportCli,
  maxDiff,
  PROBLEMS,
  predictRegistry,
  SEED_CASES,
  syntheticRows,
  syntheticVersion,
  trainTiny,
  validationRows,
} from './support.js'

/**
 * The ONNX export, run by ONNX Runtime itself, answers as `morpho predict` does: to 1e-5 in
 * every probability and with the same classes, for a model of each problem (trained for real)
 * and for models with 0, 1 and 2 live seeds, one of them mid-blend.
 */

const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof Ort
const TOLERANCE = 1e-5

let home: {path: string; cleanup: () => Promise<void>}
beforeAll(async () => {
  home = await tempDir('morpho-onnx-')
})
afterAll(() => home?.cleanup())

async function runOnnx(file: string, rows: number[][]) {
  const session = await ort.InferenceSession.create(file)
  try {
    const d = rows[0]!.length
    const out = await session.run({input: new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, d])})
    const k = out.probabilities!.dims[1]!
    const p = out.probabilities!.data as Float32Array
    return {
      probabilities: rows.map((_, r) => Array.from(p.subarray(r * k, (r + 1) * k))),
      predictions: Array.from(out.predictions!.data as BigInt64Array, Number),
    }
  } finally {
    await session.release()
  }
}

const worst: Record<string, number> = {}
afterAll(() => {
  process.stderr.write(`ONNX Runtime vs morpho predict, max |Δp|: ${JSON.stringify(worst)}\n`)
})

describe('ONNX export of a trained model of each problem', () => {
  it.each(PROBLEMS)('%s: ONNX Runtime gives morpho predict’s probabilities and classes', async (problem) => {
    const run = await trainTiny(home.path, problem)
    const out = join(home.path, `${problem}.onnx`)
    const exported = await exportCli(home.path, `${problem}@1`, 'onnx', out)
    expect(exported.code, exported.stderr).toBe(0)

    const rows = await validationRows(run)
    expect(rows.length).toBeGreaterThan(20)
    const reference = await predictRegistry(home.path, {model: problem, version: 1}, rows)
    const onnx = await runOnnx(out, rows)
    const diff = maxDiff(onnx.probabilities, reference.probabilities)
    worst[problem] = diff
    expect(diff).toBeLessThanOrEqual(TOLERANCE)
    expect(onnx.predictions).toEqual(reference.predictions)
    // The seeds the run grew are in the graph with their alpha.
    const saved = JSON.parse(await readFile(join(home.path, 'runs', run.id, 'model', 'model.json'), 'utf8'))
    const live = saved.seeds.filter((s: {state: string}) => s.state === 'active' || s.state === 'blending')
    expect(exported.json!.liveSeeds.map((s) => s.id)).toEqual(live.map((s: {id: string}) => s.id))
  })
})

describe('ONNX export of models with 0, 1 and 2 live seeds', () => {
  it.each(Object.keys(SEED_CASES))(
    '%s: same probabilities and classes; dormant and training seeds left out',
    async (name) => {
      const model = `m-${name.replace(/[^a-z0-9]+/g, '-')}`
      const seeds = SEED_CASES[name]!
      const {version} = await syntheticVersion(home.path, model, seeds)
      const out = join(home.path, `${model}.onnx`)
      const exported = await exportCli(home.path, `${model}@${version}`, 'onnx', out)
      expect(exported.code, exported.stderr).toBe(0)

      const rows = syntheticRows(200)
      const reference = await predictRegistry(home.path, {model, version}, rows)
      const onnx = await runOnnx(out, rows)
      const diff = maxDiff(onnx.probabilities, reference.probabilities)
      worst[name] = diff
      expect(diff).toBeLessThanOrEqual(TOLERANCE)
      expect(onnx.predictions).toEqual(reference.predictions)
      expect(new Set(onnx.predictions).size).toBeGreaterThan(1)

      // Only live seeds have weights in the graph; the rest is the network and the scaler.
      const graph = (await decodeOnnx(await readFile(out))).graph
      const seedNames = new Set(graph.initializer.map((t) => t.name.split('/')[0]!).filter((n) => n.startsWith('seed')))
      const live = seeds.filter((s) => s.state === 'active' || s.state === 'blending').map((s) => s.id)
      expect([...seedNames].sort()).toEqual(live.sort())
      expect(exported.json!.liveSeeds).toEqual(
        seeds.filter((s) => live.includes(s.id)).map(({id, state, alpha}) => ({id, state, alpha})),
      )
    },
  )

  it('carries the model name, version, classes, feature names and morpho version, and says what was written', async () => {
    const {version, runId} = await syntheticVersion(home.path, 'meta', SEED_CASES['one live seed']!)
    const out = join(home.path, 'meta.onnx')
    const exported = await exportCli(home.path, 'meta', 'onnx', out)
    // `meta` alone is its Production version: there is none yet.
    expect(exported.code).toBe(4)
    const res = await exportCli(home.path, 'meta@latest', 'onnx', out)
    expect(res.code, res.stderr).toBe(0)
    const bytes = await readFile(out)
    const model = await decodeOnnx(bytes)
    const props = Object.fromEntries(model.metadataProps.map((p) => [p.key, p.value]))
    const pkg = JSON.parse(await readFile(join(import.meta.dirname, '../../package.json'), 'utf8'))
    expect(props).toMatchObject({
      model_name: 'meta',
      model_version: String(version),
      run_id: runId,
      classes: '[0,2,5]',
      feature_names: '["x1","x2","x3"]',
      morpho_version: pkg.version,
    })
    expect(model.producerName).toBe('morpho')
    expect(model.modelVersion).toBe(version)
    expect(model.opsetImport.map((o) => [o.domain ?? '', o.version])).toEqual([['', 21]])
    const {createHash} = await import('node:crypto')
    expect(res.json).toMatchObject({
      format: 'onnx',
      model: 'meta',
      version,
      runId,
      source: 'registry',
      out,
      files: [{path: 'meta.onnx', size: bytes.byteLength, sha256: createHash('sha256').update(bytes).digest('hex')}],
      opset: 21,
    })
  })

  it('names the features as the training CSV’s header did', async () => {
    const csv = join(home.path, 'petals.csv')
    const lines = Array.from({length: 80}, (_, i) => `${(i % 7) * 0.3},${i % 2 ? 1.5 : -1.5},${i % 2}`)
    await writeFile(csv, ['petal_length,petal_width,species', ...lines].join('\n'))
    const train = await runCli([
      ...['train', '--data', csv, '--hidden-dim', '8', '--num-layers', '1', '--warm-up-epochs', '2'],
      ...[
        '--adaptation-epochs',
        '1',
        '--register-at',
        '0',
        '--stage-at',
        'off',
        '--quiet',
        '--json',
        '--home',
        home.path,
      ],
    ])
    expect(train.code, train.stderr).toBe(0)
    const out = join(home.path, 'petals.onnx')
    expect((await exportCli(home.path, 'petals@1', 'onnx', out)).code).toBe(0)
    const props = Object.fromEntries((await decodeOnnx(await readFile(out))).metadataProps.map((p) => [p.key, p.value]))
    expect(props.feature_names).toBe('["petal_length","petal_width"]')
  })

  it('exports a run by its id, and `predict --model-file` runs the file through ONNX Runtime', async () => {
    const {runId, version} = await syntheticVersion(home.path, 'byrun', SEED_CASES['two live seeds, one mid-blend']!)
    const out = join(home.path, 'byrun.onnx')
    const res = await exportCli(home.path, runId, 'onnx', out)
    expect(res.code, res.stderr).toBe(0)
    expect(res.json).toMatchObject({source: 'run', model: 'byrun', version: null, runId})

    const rows = syntheticRows(50, 11)
    const reference = await predictRegistry(home.path, {model: 'byrun', version}, rows)
    const viaFile = await runCli(['predict', '--model-file', out, '--json'], {input: JSON.stringify(rows)})
    expect(viaFile.code, viaFile.stderr).toBe(0)
    const answer = parseJson<PredictView>(viaFile.stdout)
    expectShape('predict', answer)
    expect(answer).toMatchObject({source: 'file', model: 'byrun', modelFile: {path: out, format: 'onnx'}})
    expect(answer.modelFile!.runtime).toMatch(/^onnxruntime-node \d/)
    expect(maxDiff(answer.probabilities, reference.probabilities)).toBeLessThanOrEqual(TOLERANCE)
    expect(answer.predictions).toEqual(reference.predictions)

    const narrow = await runCli(['predict', '--model-file', out, '--data', '[[1, 2]]', '--json'])
    expect(narrow.code).toBe(6)
    expect(parseJson<{error: {message: string}}>(narrow.stdout).error.message).toBe(
      'data[0] has 2 features; model byrun takes 3',
    )
  })
})
