import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {Tensor2D} from '@tensorflow/tfjs'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {Rng} from '../../src/data/rng.js'
import {MorphoNet} from '../../src/model/network.js'
import {argmaxRows, createJsPredictor, createTfPredictor} from '../../src/model/predictor.js'
import {loadModelFiles, saveModel} from '../../src/model/serialize.js'
import type {Tf} from '../../src/tf/backend.js'
import {testTf} from '../helpers/tf.js'

const arch = {inputDim: 3, hiddenDim: 8, numLayers: 3, seedsPerLayer: 1, numClasses: 2}
const seedConfig = {blendSteps: 10, progressThresh: 0.05}

describe('MorphoNet', () => {
  let tf: Tf
  let x: Tensor2D
  beforeAll(async () => {
    tf = (await testTf()).tf
    x = tf.tensor2d(
      Float32Array.from({length: 40 * 3}, (_, i) => Math.sin(i * 1.7) * 2),
      [40, 3],
    )
  })
  afterAll(() => x.dispose())

  const logits = (net: MorphoNet) => tf.tidy(() => net.forward(x).dataSync() as Float32Array)

  it('produces [batch, classes] logits and counts its parameters', () => {
    const net = MorphoNet.create(tf, arch, new Rng(1), seedConfig)
    const out = tf.tidy(() => net.forward(x).shape)
    expect(out).toEqual([40, 2])
    // 3·8+8 + 3·(8·8+8) + 8·2+2; dormant seeds own nothing.
    expect(net.parameterCount()).toBe(32 + 216 + 18)
    net.dispose()
  })

  it('owns exactly its variables: creating, germinating and disposing a network leaves no tensor behind', () => {
    const before = tf.memory().numTensors
    const net = MorphoNet.create(tf, arch, new Rng(1), seedConfig)
    // input, 3 hidden and output layers: a kernel and a bias each.
    expect(tf.memory().numTensors - before).toBe(10)
    net.germinate(net.seeds[0], 1, new Rng(2))
    expect(tf.memory().numTensors - before).toBe(14)
    net.dispose()
    expect(tf.memory().numTensors).toBe(before)
  })

  it('starts identical for the same seed and differently for another', () => {
    const a = MorphoNet.create(tf, arch, new Rng(7), seedConfig)
    const b = MorphoNet.create(tf, arch, new Rng(7), seedConfig)
    const c = MorphoNet.create(tf, arch, new Rng(8), seedConfig)
    expect(logits(a)).toEqual(logits(b))
    expect(logits(a)).not.toEqual(logits(c))
    for (const n of [a, b, c]) n.dispose()
  })

  it('germination alone does not change the function: the adapter starts at zero', () => {
    const net = MorphoNet.create(tf, arch, new Rng(2), seedConfig)
    const before = logits(net)
    const seed = net.seeds[1]
    net.germinate(seed, 5, new Rng(3))
    expect(seed.life.state).toBe('training')
    expect(logits(net)).toEqual(before)
    // Even its shadow pass (alpha 1) is the same function until the adapter learns.
    const shadow = tf.tidy(() => net.forward(x, {shadow: seed}).dataSync())
    expect(Array.from(shadow)).toEqual(Array.from(before))
    net.dispose()
  })

  it('blends continuously: every step moves alpha by 1/blendSteps and active equals the end of blending', () => {
    const net = MorphoNet.create(tf, arch, new Rng(4), seedConfig)
    const seed = net.seeds[2]
    net.germinate(seed, 1, new Rng(5))
    // Give the adapter a non-trivial function, as shadow training would.
    seed.w2!.assign(tf.randomNormal(seed.w2!.shape, 0, 0.5, 'float32', 9))
    seed.b2!.assign(tf.randomNormal(seed.b2!.shape, 0, 0.5, 'float32', 10))
    while (seed.life.state === 'training') seed.life.afterStep()
    const withoutSeed = logits(net)
    const fullyOn = tf.tidy(() => net.forward(x, {shadow: seed}).dataSync() as Float32Array)

    const steps: Float32Array[] = [withoutSeed]
    while (seed.life.state === 'blending') {
      seed.life.afterStep()
      steps.push(logits(net))
    }
    expect(seed.life.state).toBe('active')
    expect(steps).toHaveLength(seedConfig.blendSteps + 1)
    // Active is exactly the alpha-1 function the blend was heading to: no jump.
    expect(steps.at(-1)).toEqual(fullyOn)
    const change = (a: Float32Array, b: Float32Array) => Math.max(...a.map((v, i) => Math.abs(v - b[i])))
    const total = change(withoutSeed, fullyOn)
    expect(total).toBeGreaterThan(0.1)
    const perStep = steps.slice(1).map((s, i) => change(s, steps[i]))
    // The final step (blending → active) is no bigger than an ordinary blend step.
    const ordinary = Math.max(...perStep.slice(0, -1))
    expect(perStep.at(-1)!).toBeLessThanOrEqual(ordinary * 1.5 + 1e-6)
    expect(Math.max(...perStep)).toBeLessThan(total / 2)
    net.dispose()
  })

  it('averages the adapters of several seeds in one layer', () => {
    const net = MorphoNet.create(tf, {...arch, seedsPerLayer: 2}, new Rng(6), seedConfig)
    const [s1, s2] = net.seedsOfLayer(0)
    for (const s of [s1, s2]) {
      net.germinate(s, 1, new Rng(7))
      s.w2!.assign(tf.onesLike(s.w2!))
      s.life.restore('active', 1)
    }
    const both = logits(net)
    s2.life.restore('training', 0)
    const one = logits(net)
    expect(both).not.toEqual(one)
    net.dispose()
  })

  describe('save → load → predict', () => {
    let dir: string
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'morpho-model-'))
    })
    afterAll(() => rm(dir, {recursive: true, force: true}))

    // One seed per layer (blending), and two in a layer (one active, one blending): the second
    // case runs the sum of adapters and the division by seeds per layer.
    const cases = [
      {
        label: 'one blending seed',
        arch,
        seeds: [['blending', 0.4]] as const,
        stored: ['blending', 'dormant', 'dormant'],
      },
      {
        label: 'two seeds in a layer',
        arch: {...arch, seedsPerLayer: 2},
        seeds: [
          ['active', 1],
          ['blending', 0.7],
        ] as const,
        stored: ['active', 'blending', 'dormant', 'dormant', 'dormant', 'dormant'],
      },
    ]
    it.each(cases)(
      'gives bit-identical predictions on the same backend, and the pure-JS path agrees ($label)',
      async (c) => {
        const net = MorphoNet.create(tf, c.arch, new Rng(11), seedConfig)
        c.seeds.forEach(([state, alpha], i) => {
          const seed = net.seeds[i]!
          net.germinate(seed, 3, new Rng(12 + i))
          seed.w2!.assign(tf.randomNormal(seed.w2!.shape, 0, 0.3, 'float32', 13 + i))
          seed.life.restore(state, alpha)
        })
        const scaler = {mean: [0.5, -1, 2], std: [2, 0.5, 1]}
        const raw = Float32Array.from({length: 25 * 3}, (_, i) => Math.cos(i) * 3)
        const expected = tf.tidy(() => {
          const scaled = tf.div(tf.sub(tf.tensor2d(raw, [25, 3]), tf.tensor1d(scaler.mean)), tf.tensor1d(scaler.std))
          return tf.softmax(net.forward(scaled as Tensor2D)).dataSync() as Float32Array
        })

        const modelDir = join(dir, c.label.replaceAll(' ', '-'))
        await saveModel(modelDir, {
          architecture: net.arch,
          seeds: net.savedSeeds(),
          scaler,
          classes: [3, 7],
          problem: 'unit',
          weights: net.namedWeights(),
        })
        const loaded = await loadModelFiles(modelDir)
        expect(loaded.file.seeds.map((s) => s.state)).toEqual(c.stored)
        // Dormant seeds store no weights.
        const seedWeights = [...loaded.weights.keys()].filter((k) => k.startsWith('seed'))
        expect(seedWeights).toHaveLength(4 * c.seeds.length)

        const before = tf.memory()
        const tfPredictor = createTfPredictor(tf, loaded)
        expect(tfPredictor.predictProba(raw, 25)).toEqual(expected)
        expect(tfPredictor.predictProba(raw.subarray(0, 3), 1)).toEqual(expected.subarray(0, 2))
        const jsPredictor = createJsPredictor(loaded)
        const js = jsPredictor.predictProba(raw, 25)
        for (let i = 0; i < js.length; i++) expect(js[i]).toBeCloseTo(expected[i]!, 5)
        expect(argmaxRows(js, 25, 2)).toEqual(argmaxRows(expected, 25, 2))
        expect(tfPredictor.classes).toEqual([3, 7])
        tfPredictor.dispose()
        // A prediction leaves no tensor and no backend buffer behind; dispose frees the predictor's own.
        expect(tf.memory().numTensors).toBe(before.numTensors)
        expect(tf.memory().numDataBuffers).toBe(before.numDataBuffers)
        net.dispose()
      },
    )

    it('refuses truncated weights and a file that is not a morpho model', async () => {
      const net = MorphoNet.create(tf, arch, new Rng(1), seedConfig)
      const modelDir = join(dir, 'broken')
      await saveModel(modelDir, {
        architecture: net.arch,
        seeds: net.savedSeeds(),
        scaler: {mean: [0, 0, 0], std: [1, 1, 1]},
        classes: [0, 1],
        problem: 'unit',
        weights: net.namedWeights(),
      })
      net.dispose()
      const {writeFile, readFile} = await import('node:fs/promises')
      const bin = await readFile(join(modelDir, 'weights.bin'))
      await writeFile(join(modelDir, 'weights.bin'), bin.subarray(0, bin.length - 4))
      await expect(loadModelFiles(modelDir)).rejects.toMatchObject({code: 'INTEGRITY', exitCode: 7})
      // Text labels are kept; labels that mix numbers and text, or repeat, are not a model's.
      const file = JSON.parse(await readFile(join(modelDir, 'model.json'), 'utf8'))
      await writeFile(join(modelDir, 'weights.bin'), bin)
      await writeFile(join(modelDir, 'model.json'), JSON.stringify({...file, classes: ['cat', 'dog']}))
      expect((await loadModelFiles(modelDir)).file.classes).toEqual(['cat', 'dog'])
      for (const classes of [
        [0, 'dog'],
        ['cat', 'cat'],
        [0, null],
      ]) {
        await writeFile(join(modelDir, 'model.json'), JSON.stringify({...file, classes}))
        await expect(loadModelFiles(modelDir)).rejects.toThrow(/model\.json is malformed/)
      }
      await writeFile(join(modelDir, 'model.json'), '{"hello": 1}')
      await expect(loadModelFiles(modelDir)).rejects.toThrow(/not a morpho model/)
      await expect(loadModelFiles(join(dir, 'nowhere'))).rejects.toThrow(/Missing model file/)
    })
  })
})
