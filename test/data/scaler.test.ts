import {describe, expect, it} from 'vitest'
import {applyScaler, fitScaler} from '../../src/data/index.js'
import {errorOf, mean, std} from './helpers.js'

// 4 rows × 3 features; the last column is constant.
const X = Float32Array.from([1, 10, 5, 2, 20, 5, 3, 30, 5, 4, 40, 5])

const columnOf = (x: Float32Array, features: number, j: number) =>
  Array.from({length: x.length / features}, (_, i) => x[i * features + j]!)

describe('scaler', () => {
  it('fits the per-feature mean and population standard deviation', () => {
    const scaler = fitScaler(X, 4, 3)
    expect(scaler.mean).toEqual([2.5, 25, 5])
    // Population std of 1,2,3,4 is sqrt(1.25), not the sample std sqrt(5/3).
    expect(scaler.std[0]).toBeCloseTo(Math.sqrt(1.25), 12)
    expect(scaler.std[1]).toBeCloseTo(10 * Math.sqrt(1.25), 12)
  })

  it('gives a constant column std 1, so it scales to 0 instead of NaN', () => {
    const scaler = fitScaler(X, 4, 3)
    expect(scaler.std[2]).toBe(1)
    const scaled = applyScaler(X, 4, scaler)
    expect(columnOf(scaled, 3, 2)).toEqual([0, 0, 0, 0])
    expect(scaled.every(Number.isFinite)).toBe(true)
    // A constant that float32 cannot represent exactly still scales to exactly 0.
    const tenths = new Float32Array(1000).fill(0.1)
    expect(applyScaler(tenths, 1000, fitScaler(tenths, 1000, 1)).every((v) => v === 0)).toBe(true)
  })

  it('scales the data it was fitted on to mean 0 and std 1', () => {
    const scaled = applyScaler(X, 4, fitScaler(X, 4, 3))
    for (const j of [0, 1]) {
      expect(mean(columnOf(scaled, 3, j))).toBeCloseTo(0, 6)
      expect(std(columnOf(scaled, 3, j))).toBeCloseTo(1, 6)
    }
  })

  it('returns a new array unless given one to write into, and leaves the input alone', () => {
    const before = Float32Array.from(X)
    const scaler = fitScaler(X, 4, 3)
    const fresh = applyScaler(X, 4, scaler)
    expect(fresh).not.toBe(X)
    expect([...X]).toEqual([...before])
    const out = new Float32Array(12)
    expect(applyScaler(X, 4, scaler, out)).toBe(out)
    expect([...out]).toEqual([...fresh])
    const inPlace = Float32Array.from(X)
    applyScaler(inPlace, 4, scaler, inPlace)
    expect([...inPlace]).toEqual([...fresh])
  })

  it('applies the training statistics to other data (no refitting)', () => {
    const scaler = fitScaler(X, 4, 3)
    const other = Float32Array.from([2.5, 25, 6])
    const scaled = applyScaler(other, 1, scaler)
    expect([...scaled]).toEqual([0, 0, 1])
  })

  it('refuses data whose shape does not match', () => {
    expect(errorOf(() => fitScaler(X, 5, 3)).code).toBe('INVALID_DATA')
    const scaler = fitScaler(X, 4, 3)
    expect(errorOf(() => applyScaler(Float32Array.from([1, 2]), 1, scaler)).message).toContain('1 rows × 3 features')
    expect(errorOf(() => applyScaler(X, 4, scaler, new Float32Array(3))).code).toBe('INVALID_DATA')
  })
})
