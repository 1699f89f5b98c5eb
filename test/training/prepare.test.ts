import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {resolveTrainOptions} from '../../src/training/options.js'
import {type Prepared, prepareData} from '../../src/training/prepare.js'
import {tempDir} from '../helpers/cli.js'

/** Every row of a flat row-major array, as text, so rows compare by value. */
const rows = (x: Float32Array, n: number, features: number) =>
  Array.from({length: n}, (_, i) => Array.from(x.subarray(i * features, (i + 1) * features)).join(','))

/** The rows of each split in raw units (undoing the training scaler), to 4 decimals. */
const splits = (p: Prepared) => {
  const f = p.data.features
  const raw = (x: Float32Array, n: number) =>
    rows(
      x.map((v, i) => Number((v * p.scaler.std[i % f]! + p.scaler.mean[i % f]!).toFixed(4))),
      n,
      f,
    )
  return {
    train: raw(p.data.trainX, p.data.nTrain),
    val: raw(p.data.valX, p.data.nVal),
    test: raw(p.test!.x, p.test!.n),
  }
}

/** The test rows in raw units, in order. */
const rawTest = (p: Prepared) =>
  Array.from(p.test!.x, (v, i) => v * p.scaler.std[i % p.data.features]! + p.scaler.mean[i % p.data.features]!)
const maxDiff = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i]!)))

describe('the held-out test set', () => {
  let dir: {path: string; cleanup: () => Promise<void>}
  beforeAll(async () => {
    dir = await tempDir()
  })
  afterAll(() => dir.cleanup())

  it('is fresh rows of the generator: none is a training or validation row, and the run seed does not change them', async () => {
    for (const problem of ['spirals', 'moons', 'complex-moons', 'clusters', 'spheres']) {
      const a = await prepareData(resolveTrainOptions({problem, samples: 400, inputDim: 5, seed: 1}))
      const {train, val, test} = splits(a)
      expect(test, problem).toHaveLength(400)
      const seen = new Set([...train, ...val])
      expect(
        test.filter((r) => seen.has(r)),
        problem,
      ).toEqual([])
      expect(a.source.test).toBe(400)
      // Another --seed splits train/validation differently, but is scored on the same rows.
      const b = await prepareData(resolveTrainOptions({problem, samples: 400, inputDim: 5, seed: 2}))
      expect(maxDiff(rawTest(b), rawTest(a)), problem).toBeLessThan(1e-4)
      expect(Array.from(b.test!.y)).toEqual(Array.from(a.test!.y))
      expect(splits(b).train, problem).not.toEqual(train)
    }
  })

  it('takes --test-samples rows, or none with 0', async () => {
    const some = await prepareData(resolveTrainOptions({problem: 'clusters', samples: 300, testSamples: 50}))
    expect(some.test!.n).toBe(50)
    const none = await prepareData(resolveTrainOptions({problem: 'moons', samples: 300, testSamples: 0}))
    expect(none.test).toBeUndefined()
    expect(none.source.test).toBe(0)
  })

  it('is --test-frac of a CSV file, held out before the train/validation split, overlapping neither', async () => {
    const file = join(dir.path, 'points.csv')
    const lines = Array.from({length: 100}, (_, i) => `${i},${(i * 7) % 13},${i % 3}`)
    await writeFile(file, `${lines.join('\n')}\n`)
    const p = await prepareData(resolveTrainOptions({data: file, testFrac: 0.25}))
    const {train, val, test} = splits(p)
    expect([train.length, val.length, test.length]).toEqual([60, 15, 25])
    expect(new Set([...train, ...val, ...test]).size).toBe(100)
    expect(p.source).toMatchObject({kind: 'csv', samples: 100, train: 60, val: 15, test: 25})
    // The test rows depend on the data seed only.
    const other = await prepareData(resolveTrainOptions({data: file, testFrac: 0.25, seed: 9}))
    expect(maxDiff(rawTest(other), rawTest(p))).toBeLessThan(1e-4)
    const none = await prepareData(resolveTrainOptions({data: file, testFrac: 0}))
    expect(none.test).toBeUndefined()
    expect(none.data.nTrain + none.data.nVal).toBe(100)
  })
})
