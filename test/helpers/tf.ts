import {Rng} from '../../src/data/rng.js'
import {type LoadedTf, loadTf} from '../../src/tf/backend.js'
import type {PreparedData} from '../../src/training/trainer.js'

/** TF.js on the backend CI pins (wasm unless MORPHO_BACKEND says otherwise). */
export function testTf(): Promise<LoadedTf> {
  return loadTf((process.env.MORPHO_BACKEND as 'wasm' | 'cpu' | undefined) ?? 'wasm')
}

/** Two noisy, roughly separable blobs: small, fast, and learnable in a few epochs. */
export function blobs(n: number, features: number, seed = 1): PreparedData {
  const rng = new Rng(seed)
  const make = (rows: number) => {
    const x = new Float32Array(rows * features)
    const y = new Int32Array(rows)
    for (let r = 0; r < rows; r++) {
      y[r] = r % 2
      for (let f = 0; f < features; f++)
        x[r * features + f] = rng.normal() * 0.7 + (y[r] ? 1 : -1) * (f === 0 ? 1 : 0.3)
    }
    return {x, y}
  }
  const train = make(n)
  const val = make(Math.max(8, Math.floor(n / 4)))
  return {
    trainX: train.x,
    trainY: train.y,
    nTrain: n,
    valX: val.x,
    valY: val.y,
    nVal: val.y.length,
    features,
    classes: 2,
  }
}
