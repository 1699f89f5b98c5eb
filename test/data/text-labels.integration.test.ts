import type {ChildProcess} from 'node:child_process'
import {readFile, writeFile} from 'node:fs/promises'
import {createRequire} from 'node:module'
import {join} from 'node:path'
import type * as Ort from 'onnxruntime-node'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {ModelFile} from '../../src/model/model-file.js'
import type {PredictView} from '../../src/serve/predict-view.js'
import {parsePbtxt} from '../export/pbtxt.js'
import {parseJson, runCli, tempDir} from '../helpers/cli.js'
import {AT_CENTRES, LABELS, PETS_TRAINING, petsCsv} from '../helpers/pets.js'
import {startServeProcess} from '../helpers/serve-process.js'
import {expectShape} from '../helpers/shapes.js'

/**
 * A CSV file with a header and text labels, as a user has one: `width,height,species` with cats,
 * dogs and owls. Trained with the built CLI, then asked from the registry, through `morpho serve`
 * (/predict, /models, the Open Inference Protocol), and through every export, which must answer
 * with the labels and name the features.
 */

const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof Ort

let home: {path: string; cleanup: () => Promise<void>}
let csv: string
let runId: string

beforeAll(async () => {
  home = await tempDir('morpho-text-labels-')
  csv = join(home.path, 'pets.csv')
  await writeFile(csv, petsCsv())
  const res = await runCli(['train', '--data', csv, ...PETS_TRAINING, '--json', '--home', home.path])
  expect(res.code, res.stderr).toBe(0)
  const out = parseJson<{run: {runId: string; summary: Record<string, number>}}>(res.stdout)
  expectShape('train', out)
  runId = out.run.runId
  // The held-out test rows were mapped to the training classes and scored.
  expect(out.run.summary.test_acc).toBe(1)
  const promoted = await runCli(['promote', 'Production', '--version', '1', '--model', 'pets', '--home', home.path])
  expect(promoted.code, promoted.stderr).toBe(0)
})
afterAll(() => home?.cleanup())

const predict = async (...args: string[]) => {
  const res = await runCli(['predict', ...args, '--data', JSON.stringify(AT_CENTRES), '--home', home.path])
  expect(res.code, res.stderr).toBe(0)
  return res
}

describe('a CSV with a header and text labels', () => {
  it('keeps the labels (sorted) and the header’s names in the model', async () => {
    const file = JSON.parse(await readFile(join(home.path, 'runs', runId, 'model', 'model.json'), 'utf8')) as ModelFile
    expect(file.classes).toEqual(LABELS)
    expect(file.features).toEqual(['width', 'height'])
  })

  it('predict from the registry answers with the labels, and its table names the columns by them', async () => {
    const json = parseJson<PredictView>((await predict('--json')).stdout)
    expectShape('predict', json)
    expect(json).toMatchObject({model: 'pets', version: 1, predictions: LABELS, classes: LABELS})
    const table = (await predict()).stdout.split('\n')
    expect(table[0]).toMatch(/^ROW\s+PREDICTION\s+P\(cat\)\s+P\(dog\)\s+P\(owl\)$/)
    expect(table.slice(1, 4).map((l) => l.split(/\s+/)[1])).toEqual(LABELS)
  })

  describe('served by morpho serve', () => {
    let server: {child: ChildProcess; url: string}
    beforeAll(async () => {
      server = await startServeProcess(['--port', '0', '--home', home.path])
    })
    afterAll(() => {
      server?.child.kill('SIGTERM')
    })
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: {'Content-Type': 'application/json'},
        body: JSON.stringify(body),
      })
      expect(res.status).toBe(200)
      return (await res.json()) as Record<string, unknown>
    }

    it('POST /predict and predict --url answer with the labels and list them', async () => {
      const body = await post('/predict', {data: AT_CENTRES})
      expect(body).toMatchObject({predictions: LABELS, classes: LABELS, model_version: '1'})
      const remote = parseJson<PredictView>((await predict('--url', server.url, '--json')).stdout)
      expectShape('predict', remote)
      expect(remote).toMatchObject({source: 'server', predictions: LABELS, classes: LABELS})
      expect((await predict('--url', server.url)).stdout).toMatch(
        /^ROW\s+PREDICTION\s+P\(cat\)\s+P\(dog\)\s+P\(owl\)\n/,
      )
    })

    it('GET /models names the loaded model’s features and classes', async () => {
      const models = (await (await fetch(`${server.url}/models`)).json()) as Record<string, unknown>
      expect(models).toMatchObject({model_name: 'pets', feature_names: ['width', 'height'], classes: LABELS})
    })

    it('the Open Inference Protocol gives the predictions as a BYTES tensor, and the metadata says so', async () => {
      const meta = (await (await fetch(`${server.url}/v2/models/pets`)).json()) as Record<string, unknown>
      expect(meta.inputs).toEqual([
        {name: 'input', datatype: 'FP32', shape: [-1, 2], parameters: {feature_names: 'width,height'}},
      ])
      expect(meta.outputs).toContainEqual({name: 'predictions', datatype: 'BYTES', shape: [-1]})
      const infer = await post('/v2/models/pets/infer', {
        inputs: [{name: 'input', shape: [3, 2], datatype: 'FP32', data: AT_CENTRES.flat()}],
      })
      expect(infer.outputs).toContainEqual({name: 'predictions', shape: [3], datatype: 'BYTES', data: LABELS})
    })
  })

  describe('exported', () => {
    const exportTo = async (format: string, out: string) => {
      const res = await runCli(['export', 'pets@1', '--format', format, '--out', out, '--json', '--home', home.path])
      expect(res.code, res.stderr).toBe(0)
      return out
    }

    it('as ONNX: ONNX Runtime gives the labels as a string tensor, and the metadata carries labels and names', async () => {
      const out = await exportTo('onnx', join(home.path, 'pets.onnx'))
      const session = await ort.InferenceSession.create(await readFile(out))
      try {
        const answer = await session.run({
          input: new ort.Tensor('float32', Float32Array.from(AT_CENTRES.flat()), [3, 2]),
        })
        expect(answer.predictions!.type).toBe('string')
        expect(Array.from(answer.predictions!.data as string[])).toEqual(LABELS)
      } finally {
        await session.release()
      }
      const byFile = parseJson<PredictView>((await predict('--model-file', out, '--json')).stdout)
      expect(byFile).toMatchObject({predictions: LABELS, classes: LABELS, source: 'file'})
      const text = (await readFile(out)).toString('latin1')
      expect(text).toContain('["cat","dog","owl"]')
      expect(text).toContain('["width","height"]')
    })

    it('as TF.js: predict --model-file answers with the labels', async () => {
      const out = await exportTo('tfjs', join(home.path, 'pets-tfjs'))
      const json = JSON.parse(await readFile(join(out, 'model.json'), 'utf8'))
      expect(json.userDefinedMetadata.morpho).toMatchObject({classes: LABELS, feature_names: ['width', 'height']})
      const byFile = parseJson<PredictView>((await predict('--model-file', out, '--json')).stdout)
      expect(byFile).toMatchObject({predictions: LABELS, classes: LABELS})
    })

    it('for Triton: a label file for the classification extension, and a string predictions output', async () => {
      const repo = await exportTo('triton', join(home.path, 'repo'))
      expect(await readFile(join(repo, 'pets', 'labels.txt'), 'utf8')).toBe('cat\ndog\nowl\n')
      const config = parsePbtxt(await readFile(join(repo, 'pets', 'config.pbtxt'), 'utf8'))
      const outputs = config.output as {name: string[]; data_type: string[]; label_filename?: string[]}[]
      expect(outputs.map((o) => [o.name[0], o.data_type[0], o.label_filename?.[0]])).toEqual([
        ['probabilities', 'TYPE_FP32', 'labels.txt'],
        ['predictions', 'TYPE_STRING', undefined],
      ])
      const session = await ort.InferenceSession.create(await readFile(join(repo, 'pets', '1', 'model.onnx')))
      try {
        expect(session.outputMetadata.find((m) => m.name === 'predictions')).toMatchObject({type: 'string'})
      } finally {
        await session.release()
      }
    })

    it('as an archive that another store imports: the same labels', async () => {
      const archive = await exportTo('archive', join(home.path, 'pets.tgz'))
      const other = await tempDir('morpho-text-labels-import-')
      try {
        const imported = await runCli(['import', archive, '--json', '--home', other.path])
        expect(imported.code, imported.stderr).toBe(0)
        const res = await runCli(
          ['predict', '--model', 'pets', '--version', '1', '--json', '--data', JSON.stringify(AT_CENTRES)],
          {env: {MORPHO_HOME: other.path}},
        )
        expect(res.code, res.stderr).toBe(0)
        expect(parseJson<PredictView>(res.stdout)).toMatchObject({predictions: LABELS, classes: LABELS})
      } finally {
        await other.cleanup()
      }
    })
  })
})

describe('labels a CSV may not have: exit 6, the file, the line and the value', () => {
  const refused = async (name: string, label: string) => {
    const file = join(home.path, name)
    await writeFile(file, `width,height,species\n1,2,cat\n3,4,dog\n5,6,${label}\n7,8,cat\n`)
    const res = await runCli(['train', '--data', file, ...PETS_TRAINING, '--json', '--home', home.path])
    expect(res.code).toBe(6)
    const {error} = parseJson<{error: {code: string; message: string; details: Record<string, unknown>}}>(res.stdout)
    expect(error.code).toBe('INVALID_DATA')
    expect(error.details).toMatchObject({path: file, line: 4, column: 3})
    return error
  }

  it('an empty label', async () => {
    const error = await refused('empty.csv', '')
    expect(error.message).toBe(`${join(home.path, 'empty.csv')}: line 4, column 3: the label is empty`)
  })

  it('a label with a control character (an escape sequence), shown escaped', async () => {
    const error = await refused('control.csv', 'ca\u001b[31mt')
    expect(error.message).toBe(
      `${join(home.path, 'control.csv')}: line 4, column 3: label "ca\\x1b[31mt" holds a control character`,
    )
    expect(error.details.value).toBe('ca\\x1b[31mt')
  })

  it('a label longer than 100 characters', async () => {
    const long = 'x'.repeat(101)
    const error = await refused('long.csv', long)
    expect(error.message).toBe(
      `${join(home.path, 'long.csv')}: line 4, column 3: label "${'x'.repeat(40)}…" is 101 characters long; at most 100 are allowed`,
    )
    expect(error.details).toMatchObject({value: long, chars: 101, limit: 100})
  })
})
