#!/usr/bin/env node
// The training benchmark's reference: the same network as morpho's default architecture
// (3 → H, 8 × (H → H), → 2, ReLU, He-uniform; H 64 unless --hidden) built with plain TF.js layers and trained
// with model.fit (Adam, batch 64, softmax cross-entropy, a validation pass every epoch) on as
// many rows as a default morpho run trains and validates on. Prints {"backend", "seconds"}:
// the median seconds of epochs 2 to N (the first pays for compilation and allocation).
//
//   node test/bench/train-reference.mjs [--backend wasm] [--hidden 64] [--epochs 6]
// Run by bench/train.mjs; needs a build (it loads TF.js the way morpho does).

import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const argv = process.argv.slice(2)
const option = (name, fallback) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : fallback)
const backend = option('backend', 'wasm')
const epochs = Number(option('epochs', 6))
const hidden = Number(option('hidden', 64))

const {loadTf} = await import(join(root, 'dist', 'src', 'tf', 'backend.js'))
const {tf, backend: loaded} = await loadTf(backend)

const rows = (n) => {
  const x = tf.randomNormal([n, 3], 0, 1, 'float32', 1)
  const labels = tf.randomUniform([n], 0, 2, 'int32', 2)
  return [x, tf.oneHot(labels, 2).toFloat()]
}
// A default run: 2,000 samples, 80 % trained on, 20 % validated on.
const [x, y] = rows(1600)
const [vx, vy] = rows(400)

const model = tf.sequential()
model.add(tf.layers.dense({inputShape: [3], units: hidden, activation: 'relu', kernelInitializer: 'heUniform'}))
for (let i = 0; i < 8; i++)
  model.add(tf.layers.dense({units: hidden, activation: 'relu', kernelInitializer: 'heUniform'}))
model.add(tf.layers.dense({units: 2, kernelInitializer: 'heUniform'}))
model.compile({
  optimizer: tf.train.adam(3e-3),
  loss: (labels, logits) => tf.losses.softmaxCrossEntropy(labels, logits),
  metrics: ['accuracy'],
})

const seconds = []
let started = 0
await model.fit(x, y, {
  batchSize: 64,
  epochs,
  shuffle: true,
  validationData: [vx, vy],
  verbose: 0,
  callbacks: {
    onEpochBegin: async () => {
      started = performance.now()
    },
    onEpochEnd: async () => {
      seconds.push((performance.now() - started) / 1000)
    },
  },
})
const rest = seconds.slice(1).sort((a, b) => a - b)
process.stdout.write(`${JSON.stringify({backend: loaded.name, seconds: rest[Math.floor(rest.length / 2)]})}\n`)
