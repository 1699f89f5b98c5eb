import {readFile} from 'node:fs/promises'
import {createRequire} from 'node:module'
import {join} from 'node:path'
import type * as Ort from 'onnxruntime-node'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {tempDir} from '../helpers/cli.js'
import {type PbMessage, type PbValue, parsePbtxt} from './pbtxt.js'
import {exportCli, SEED_CASES, syntheticVersion} from './support.js'

/**
 * The Triton model repository: NAME/config.pbtxt, NAME/labels.txt and NAME/VERSION/model.onnx, with a config whose
 * inputs and outputs are the ONNX graph's real names, types and shapes as ONNX Runtime reads them.
 * (No tritonserver runs here: this checks the config against the model the way Triton does.)
 */

const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof Ort
const TRITON_TYPES: Record<string, string> = {TYPE_FP32: 'float32', TYPE_INT64: 'int64', TYPE_STRING: 'string'}

let home: {path: string; cleanup: () => Promise<void>}
beforeAll(async () => {
  home = await tempDir('morpho-triton-')
})
afterAll(() => home?.cleanup())

it('writes a Triton repository whose config.pbtxt matches the ONNX graph', async () => {
  const {version} = await syntheticVersion(home.path, 'spirals', SEED_CASES['two live seeds, one mid-blend']!)
  const repo = join(home.path, 'repo')
  const res = await exportCli(home.path, `spirals@${version}`, 'triton', repo)
  expect(res.code, res.stderr).toBe(0)
  expect(res.json!.files.map((f) => f.path).sort()).toEqual([
    `spirals/${version}/model.onnx`,
    'spirals/config.pbtxt',
    'spirals/labels.txt',
  ])
  // The class labels, one per line in output order, for Triton's classification extension.
  expect(await readFile(join(repo, 'spirals', 'labels.txt'), 'utf8')).toBe('0\n2\n5\n')

  // The same graph as --format onnx writes.
  const single = join(home.path, 'single.onnx')
  expect((await exportCli(home.path, `spirals@${version}`, 'onnx', single)).code).toBe(0)
  const onnxBytes = await readFile(join(repo, 'spirals', String(version), 'model.onnx'))
  expect(onnxBytes.equals(await readFile(single))).toBe(true)

  const config = parsePbtxt(await readFile(join(repo, 'spirals', 'config.pbtxt'), 'utf8'))
  expect(config.name).toEqual(['spirals'])
  expect(config.backend).toEqual(['onnxruntime'])
  const maxBatch = config.max_batch_size![0] as number
  expect(maxBatch).toBeGreaterThan(0)
  expect(config.dynamic_batching).toHaveLength(1)

  const session = await ort.InferenceSession.create(onnxBytes)
  try {
    const check = (declared: PbValue[] | undefined, real: readonly Ort.InferenceSession.ValueMetadata[]) => {
      const tensors = (declared ?? []) as PbMessage[]
      expect(tensors.map((t) => t.name![0])).toEqual(real.map((m) => m.name))
      for (const t of tensors) {
        const meta = real.find((m) => m.name === t.name![0])!
        if (!meta.isTensor) throw new Error(`${meta.name} is not a tensor`)
        expect(TRITON_TYPES[t.data_type![0] as string]).toBe(meta.type)
        // With max_batch_size > 0 Triton adds the batch dimension in front of dims (or of the
        // reshape, which is what the model sees); the model's own first dimension is variable.
        const reshape = (t.reshape?.[0] as PbMessage | undefined)?.shape ?? t.dims
        expect(typeof meta.shape[0] === 'string' || meta.shape[0] === -1).toBe(true)
        expect(meta.shape.slice(1)).toEqual(reshape)
      }
    }
    check(config.input, session.inputMetadata)
    check(config.output, session.outputMetadata)

    // A batch the size Triton may send runs, with the shapes the config promises.
    const n = 64
    const out = await session.run({input: new ort.Tensor('float32', new Float32Array(n * 3).fill(0.3), [n, 3])})
    expect(out.probabilities!.dims).toEqual([n, 3])
    expect(out.predictions!.dims).toEqual([n])
  } finally {
    await session.release()
  }
})
