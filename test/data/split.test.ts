import {describe, expect, it} from 'vitest'
import {type Dataset, DEFAULT_DATASET_PARAMS, generate, Rng, splitDataset} from '../../src/data/index.js'
import {bytes, errorOf, row} from './helpers.js'

/** n rows whose single feature is the row number, so a row can be traced through the split. */
function numbered(n: number, classes = [0, 1]): Dataset {
  return {
    x: Float32Array.from({length: n}, (_, i) => i),
    y: Int32Array.from({length: n}, (_, i) => i % classes.length),
    n,
    features: 1,
    classes,
    problem: 'numbered',
  }
}

const ids = (ds: Dataset) => Array.from(ds.x)

describe('splitDataset', () => {
  it('gives train floor(frac·n) rows and val the rest, disjoint and covering every row', () => {
    const {train, val} = splitDataset(numbered(1001), 0.8, 42)
    expect(train.n).toBe(800)
    expect(val.n).toBe(201)
    expect(train.x).toHaveLength(800)
    expect(val.y).toHaveLength(201)
    const all = [...ids(train), ...ids(val)].sort((a, b) => a - b)
    expect(all).toEqual(Array.from({length: 1001}, (_, i) => i))
  })

  it('keeps each row with its label and the full list of classes', () => {
    const ds = generate('spirals', DEFAULT_DATASET_PARAMS, 1)
    const {train, val} = splitDataset(ds, 0.8, 1)
    expect(train.features).toBe(3)
    expect(train.classes).toEqual([0, 1])
    expect(val.problem).toBe('spirals')
    const labelOf = new Map<string, number>()
    for (let i = 0; i < ds.n; i++) labelOf.set(row(ds, i).join(), ds.y[i]!)
    for (const part of [train, val]) {
      for (let i = 0; i < part.n; i++) expect(part.y[i]).toBe(labelOf.get(row(part, i).join()))
    }
  })

  it('keeps classes even when val happens to lack one', () => {
    const ds = numbered(10, [0, 1, 2])
    ds.y.fill(0)
    ds.y[0] = 2
    const {val} = splitDataset(ds, 0.9, 3)
    expect(val.classes).toEqual([0, 1, 2])
  })

  it('is random but reproducible: same seed, same split; another seed, another split', () => {
    const a = splitDataset(numbered(500), 0.7, 9)
    const b = splitDataset(numbered(500), 0.7, 9)
    expect(bytes(a.train.x).equals(bytes(b.train.x))).toBe(true)
    expect(ids(a.val)).toEqual(ids(b.val))
    expect(ids(splitDataset(numbered(500), 0.7, 10).val)).not.toEqual(ids(a.val))
    // Not just the last rows in order.
    expect(ids(a.val)).not.toEqual(Array.from({length: 150}, (_, i) => 350 + i))
  })

  it('accepts an Rng stream instead of a seed', () => {
    const a = splitDataset(numbered(100), 0.5, new Rng(1).fork('mine'))
    const b = splitDataset(numbered(100), 0.5, new Rng(1).fork('mine'))
    expect(ids(a.train)).toEqual(ids(b.train))
  })

  it('rounds the train size down without losing a row to binary rounding', () => {
    // 0.29 * 100 is 28.999999999999996 in floating point.
    expect(splitDataset(numbered(100), 0.29, 1).train.n).toBe(29)
    expect(splitDataset(numbered(7), 0.5, 1).train.n).toBe(3)
  })

  it.each([0, 1, -0.2, 1.5, Number.NaN])('refuses --train-frac %s', (frac) => {
    const err = errorOf(() => splitDataset(numbered(10), frac, 1))
    expect(err.code).toBe('USAGE')
    expect(err.exitCode).toBe(2)
    expect(err.message).toContain('--train-frac')
    expect(err.message).toContain(String(frac))
  })

  it('refuses a fraction that leaves one side empty, with the sizes it would give', () => {
    expect(errorOf(() => splitDataset(numbered(5), 0.1, 1)).message).toBe(
      '--train-frac 0.1 of 5 rows gives 0 training and 5 validation rows; both need at least 1',
    )
    expect(errorOf(() => splitDataset(numbered(1), 0.5, 1)).message).toContain('0 training and 1 validation')
  })
})
