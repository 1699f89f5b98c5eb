import {describe, expect, it} from 'vitest'
import {
  DATASET_SPECS,
  type DatasetParams,
  DEFAULT_DATASET_PARAMS,
  generate,
  PROBLEMS,
  type Problem,
} from '../../src/data/index.js'
import {parseOption} from '../../src/option-spec.js'
import {bytes, column, countClasses, errorOf, mean, rowsOf, std} from './helpers.js'

const params = (overrides: Partial<DatasetParams> = {}): DatasetParams => ({...DEFAULT_DATASET_PARAMS, ...overrides})
const PADDED: Problem[] = ['spirals', 'moons', 'complex-moons']
const TWO_D = 2

describe('generate: shapes, dtypes and determinism', () => {
  it('has the original runner defaults', () => {
    expect(DEFAULT_DATASET_PARAMS).toEqual({
      samples: 2000,
      inputDim: 3,
      noise: 0.25,
      rotations: 4,
      moonNoise: 0.1,
      moonSep: 0.5,
      clusterCount: 2,
      clusterSize: undefined,
      clusterStd: 0.5,
      clusterSep: 3.0,
      sphereCount: 2,
      sphereSize: undefined,
      sphereRadii: [1, 2],
      sphereNoise: 0.05,
    })
  })

  it.each(PROBLEMS)('%s: default params give 2000 rows × 3 features, two balanced classes', (problem) => {
    const ds = generate(problem, DEFAULT_DATASET_PARAMS, 42)
    expect(ds.problem).toBe(problem)
    expect(ds.n).toBe(2000)
    expect(ds.features).toBe(3)
    expect(ds.x).toBeInstanceOf(Float32Array)
    expect(ds.x).toHaveLength(2000 * 3)
    expect(ds.y).toBeInstanceOf(Int32Array)
    expect(ds.y).toHaveLength(2000)
    expect(ds.classes).toEqual([0, 1])
    expect(countClasses(ds)).toEqual([1000, 1000])
    expect(ds.x.every(Number.isFinite)).toBe(true)
  })

  it.each(PROBLEMS)('%s: custom sizes and dimensions, odd n included, give exactly n rows', (problem) => {
    for (const [samples, inputDim] of [
      [7, 2],
      [301, 3],
      [50, 5],
    ] as const) {
      const ds = generate(problem, params({samples, inputDim}), 1)
      expect(ds.n).toBe(samples)
      expect(ds.features).toBe(inputDim)
      expect(ds.x).toHaveLength(samples * inputDim)
      expect(ds.y).toHaveLength(samples)
      expect(ds.x.every(Number.isFinite)).toBe(true)
    }
  })

  it.each(PROBLEMS)('%s: the same seed gives identical bytes, another seed different data', (problem) => {
    const a = generate(problem, DEFAULT_DATASET_PARAMS, 7)
    const b = generate(problem, DEFAULT_DATASET_PARAMS, 7)
    expect(bytes(a.x).equals(bytes(b.x))).toBe(true)
    expect(bytes(a.y).equals(bytes(b.y))).toBe(true)
    const c = generate(problem, DEFAULT_DATASET_PARAMS, 8)
    expect(bytes(a.x).equals(bytes(c.x))).toBe(false)
  })

  it.each(PROBLEMS)('%s: rows are shuffled, so classes are interleaved rather than in blocks', (problem) => {
    const ds = generate(problem, DEFAULT_DATASET_PARAMS, 42)
    let changes = 0
    for (let i = 1; i < ds.n; i++) if (ds.y[i] !== ds.y[i - 1]) changes++
    // Two blocks would give 1 change; a random order gives about n/2.
    expect(changes).toBeGreaterThan(ds.n * 0.4)
  })

  it('does not share draws between problems with the same seed', () => {
    const spirals = generate('spirals', params({inputDim: 3}), 42)
    const moons = generate('moons', params({inputDim: 3}), 42)
    expect(column(spirals, 2)).not.toEqual(column(moons, 2))
  })
})

describe('generate: padding', () => {
  it.each(PADDED)('%s: extra columns are i.i.d. N(0, 1) and leave the first two columns unchanged', (problem) => {
    const plain = generate(problem, params({inputDim: 2}), 5)
    const padded = generate(problem, params({inputDim: 6}), 5)
    expect(column(padded, 0)).toEqual(column(plain, 0))
    expect(column(padded, 1)).toEqual(column(plain, 1))
    expect([...padded.y]).toEqual([...plain.y])
    for (let j = 2; j < 6; j++) {
      const values = column(padded, j)
      expect(Math.abs(mean(values))).toBeLessThan(0.08)
      expect(std(values)).toBeCloseTo(1, 1)
    }
  })

  it.each(PADDED)('%s: pads an odd number of rows (the original crashed)', (problem) => {
    const ds = generate(problem, params({samples: 2001, inputDim: 4}), 3)
    expect(ds.n).toBe(2001)
    expect(ds.x).toHaveLength(2001 * 4)
  })
})

describe('spirals', () => {
  const turns = 4 * 2 * Math.PI

  it('with noise 0, class 0 lies on (t cos t, t sin t) with t = r ≤ rotations·2π, class 1 is its reflection', () => {
    const ds = generate('spirals', params({noise: 0, inputDim: TWO_D}), 11)
    const onArm = ([x, y]: number[]) => {
      const t = Math.hypot(x!, y!)
      expect(t).toBeLessThanOrEqual(turns + 1e-4)
      expect(x).toBeCloseTo(t * Math.cos(t), 3)
      expect(y).toBeCloseTo(t * Math.sin(t), 3)
    }
    const class0 = rowsOf(ds, 0)
    const class1 = rowsOf(ds, 1)
    for (const p of class0) onArm(p)
    for (const [x, y] of class1) onArm([-x!, -y!])
    // Every class-1 point is exactly the reflection of a class-0 point.
    const key = ([x, y]: number[]) => `${x},${y}`
    const reflected = new Set(class0.map(([x, y]) => key([-x!, -y!])))
    for (const p of class1) expect(reflected.has(key(p))).toBe(true)
  })

  it('uses the rotations parameter for the length of the arms', () => {
    const ds = generate('spirals', params({noise: 0, inputDim: TWO_D, rotations: 1}), 11)
    const radii = rowsOf(ds, 0).map(([x, y]) => Math.hypot(x!, y!))
    expect(Math.max(...radii)).toBeLessThanOrEqual(2 * Math.PI + 1e-4)
    expect(Math.max(...radii)).toBeGreaterThan(2 * Math.PI * 0.99)
  })

  it('adds centred noise: residuals from the noise-free arms average 0 with sd = noise', () => {
    // The same seed draws the same points along the arms whatever the noise, so the difference
    // between the two datasets is the noise alone. The original's uniform noise averaged +noise/2.
    const clean = generate('spirals', params({noise: 0, inputDim: TWO_D, samples: 20_000}), 9)
    const noisy = generate('spirals', params({noise: 0.25, inputDim: TWO_D, samples: 20_000}), 9)
    const dx: number[] = []
    const dy: number[] = []
    for (let i = 0; i < clean.n; i++) {
      if (clean.y[i] !== 0) continue
      dx.push(noisy.x[2 * i]! - clean.x[2 * i]!)
      dy.push(noisy.x[2 * i + 1]! - clean.x[2 * i + 1]!)
    }
    expect(Math.abs(mean(dx))).toBeLessThan(0.01)
    expect(Math.abs(mean(dy))).toBeLessThan(0.01)
    expect(std(dx)).toBeCloseTo(0.25, 2)
    expect(std(dy)).toBeCloseTo(0.25, 2)
  })

  it('gives class 0 ceil(n/2) rows and class 1 floor(n/2) for odd n', () => {
    expect(countClasses(generate('spirals', params({samples: 7}), 1))).toEqual([4, 3])
  })
})

describe('moons', () => {
  it('with noise 0, class 0 lies on the stretched upper semicircle and class 1 on the shifted lower one', () => {
    const moonSep = 0.5
    const ds = generate('moons', params({moonNoise: 0, moonSep, inputDim: TWO_D, samples: 501}), 2)
    const class0 = rowsOf(ds, 0)
    const class1 = rowsOf(ds, 1)
    // make_moons: n_out = floor(n/2) points in the outer moon.
    expect(class0).toHaveLength(250)
    expect(class1).toHaveLength(251)
    for (const [x, y] of class0) {
      expect((x! / (moonSep + 1)) ** 2 + y! ** 2).toBeCloseTo(1, 5)
      expect(y).toBeGreaterThanOrEqual(-1e-6)
    }
    for (const [x, y] of class1) {
      expect((x! / (moonSep + 1) - 1) ** 2 + (y! - 0.5) ** 2).toBeCloseTo(1, 5)
      expect(y).toBeLessThanOrEqual(0.5 + 1e-6)
    }
    // The ends of the outer moon sit at x = ±(moonSep + 1).
    const xs = class0.map(([x]) => x!)
    expect(Math.max(...xs)).toBeCloseTo(1.5, 5)
    expect(Math.min(...xs)).toBeCloseTo(-1.5, 5)
  })

  it('stretches x by (moonSep + 1)', () => {
    const narrow = generate('moons', params({moonNoise: 0, moonSep: 0, inputDim: TWO_D}), 2)
    const wide = generate('moons', params({moonNoise: 0, moonSep: 2, inputDim: TWO_D}), 2)
    const maxX = (ds: typeof narrow) => Math.max(...column(ds, 0))
    expect(maxX(narrow)).toBeCloseTo(2, 5)
    expect(maxX(wide)).toBeCloseTo(6, 5)
  })

  it('adds N(0, moonNoise²) noise to both coordinates', () => {
    const ds = generate('moons', params({moonNoise: 0.1, moonSep: 0, inputDim: TWO_D, samples: 20_000}), 4)
    // Distance from the unit semicircle centred at the origin, for class 0.
    const residuals = rowsOf(ds, 0).map(([x, y]) => Math.hypot(x!, y!) - 1)
    expect(Math.abs(mean(residuals))).toBeLessThan(0.01)
    expect(std(residuals)).toBeCloseTo(0.1, 2)
  })
})

describe('complex-moons', () => {
  it('is half moons, half two correlated Gaussian clusters at (2, 2) and (−2, −2)', () => {
    const n = 20_000
    const ds = generate('complex-moons', params({moonNoise: 0, inputDim: TWO_D, samples: n}), 6)
    // With moonNoise 0 a moon point is on its (unstretched) semicircle up to float32 rounding.
    const onMoon = (cls: number, [x, y]: number[]) =>
      cls === 0
        ? Math.abs(x! ** 2 + y! ** 2 - 1) < 1e-6 && y! >= 0
        : Math.abs((x! - 1) ** 2 + (y! - 0.5) ** 2 - 1) < 1e-6 && y! <= 0.5
    const moonRows = [0, 1].map((cls) => rowsOf(ds, cls).filter((p) => onMoon(cls, p)))
    const blobRows = [0, 1].map((cls) => rowsOf(ds, cls).filter((p) => !onMoon(cls, p)))
    expect(moonRows[0]).toHaveLength(n / 4)
    expect(moonRows[1]).toHaveLength(n / 4)
    expect(blobRows[0]).toHaveLength(n / 4)
    expect(blobRows[1]).toHaveLength(n / 4)
    const expected = [
      {mean: [2, 2], cov: 0.1},
      {mean: [-2, -2], cov: -0.1},
    ]
    blobRows.forEach((points, cls) => {
      const xs = points.map(([x]) => x!)
      const ys = points.map(([, y]) => y!)
      const mx = mean(xs)
      const my = mean(ys)
      expect(mx).toBeCloseTo(expected[cls]!.mean[0]!, 1)
      expect(my).toBeCloseTo(expected[cls]!.mean[1]!, 1)
      expect(std(xs) ** 2).toBeCloseTo(0.5, 1)
      expect(std(ys) ** 2).toBeCloseTo(0.5, 1)
      const cov = mean(points.map(([x, y]) => (x! - mx) * (y! - my)))
      expect(cov).toBeCloseTo(expected[cls]!.cov, 1)
    })
  })

  it('splits odd n: floor(n/2) moon points, the rest between the clusters', () => {
    const ds = generate('complex-moons', params({samples: 7}), 1)
    // moons(3): 1 outer + 2 inner; clusters(4): 2 + 2.
    expect(countClasses(ds)).toEqual([3, 4])
  })
})

describe('clusters', () => {
  it('in 2-D puts the class means at sep·(cos a, sin a) with spread clusterStd', () => {
    const ds = generate('clusters', params({inputDim: 2, clusterSep: 3, clusterStd: 0.5}), 8)
    const centres = [
      [3, 0],
      [-3, 0],
    ]
    centres.forEach((centre, cls) => {
      const points = rowsOf(ds, cls)
      expect(points).toHaveLength(1000)
      for (let j = 0; j < 2; j++) {
        const values = points.map((p) => p[j]!)
        expect(Math.abs(mean(values) - centre[j]!)).toBeLessThan(0.06)
        expect(std(values)).toBeCloseTo(0.5, 1)
      }
    })
  })

  it('in 3-D puts centre 0 at (0, 0, sep) and centre 1 at (−sep, 0, 0)', () => {
    const ds = generate('clusters', params({inputDim: 3, clusterSep: 4}), 8)
    const meanOf = (cls: number) => [0, 1, 2].map((j) => mean(rowsOf(ds, cls).map((p) => p[j]!)))
    expect(Math.max(...meanOf(0).map((m, j) => Math.abs(m - [0, 0, 4][j]!)))).toBeLessThan(0.06)
    expect(Math.max(...meanOf(1).map((m, j) => Math.abs(m - [-4, 0, 0][j]!)))).toBeLessThan(0.06)
  })

  it('above 3-D uses sep·(cos a, sin a, …) for the first two coordinates', () => {
    const ds = generate('clusters', params({inputDim: 5, clusterSep: 3}), 8)
    expect(ds.features).toBe(5)
    expect(Math.abs(mean(rowsOf(ds, 0).map((p) => p[0]!)) - 3)).toBeLessThan(0.06)
    expect(Math.abs(mean(rowsOf(ds, 1).map((p) => p[0]!)) + 3)).toBeLessThan(0.06)
    expect(Math.abs(mean(rowsOf(ds, 0).map((p) => p[1]!)))).toBeLessThan(0.06)
  })

  it('labels cluster k as k mod 2 and gives the remainder to the first clusters', () => {
    // 10 points in 3 clusters: sizes 4, 3, 3; clusters 0 and 2 are class 0.
    const ds = generate('clusters', params({samples: 10, clusterCount: 3}), 1)
    expect(ds.n).toBe(10)
    expect(countClasses(ds)).toEqual([7, 3])
  })

  it('honours clusterSize: n = clusterCount × clusterSize', () => {
    const ds = generate('clusters', params({clusterCount: 3, clusterSize: 40}), 1)
    expect(ds.n).toBe(120)
    expect(countClasses(ds)).toEqual([80, 40])
  })

  it('generates a single class for one cluster (the caller decides whether that is enough)', () => {
    const ds = generate('clusters', params({clusterCount: 1, samples: 20}), 1)
    expect(ds.classes).toEqual([0])
    expect(new Set(ds.y)).toEqual(new Set([0]))
  })
})

describe('spheres', () => {
  it.each([2, 3, 6])('in %i-D with noise 0, every row lies on its shell', (inputDim) => {
    const ds = generate('spheres', params({inputDim, sphereNoise: 0, sphereCount: 3, sphereRadii: [1, 2, 3]}), 12)
    expect(ds.features).toBe(inputDim)
    // Shells 0 and 2 are class 0 (radii 1 and 3), shell 1 is class 1 (radius 2).
    for (const p of rowsOf(ds, 0)) {
      const r = Math.hypot(...p)
      expect(Math.min(Math.abs(r - 1), Math.abs(r - 3))).toBeLessThan(1e-5)
    }
    for (const p of rowsOf(ds, 1)) expect(Math.hypot(...p)).toBeCloseTo(2, 5)
    // 2000 / 3: 667 + 666 + 667 with the extra point in shell 0.
    expect(countClasses(ds)).toEqual([667 + 666, 667])
  })

  it('in 3-D covers the sphere uniformly', () => {
    const ds = generate('spheres', params({inputDim: 3, sphereNoise: 0, sphereRadii: [1, 1], samples: 20_000}), 3)
    for (let j = 0; j < 3; j++) {
      const values = column(ds, j)
      expect(Math.abs(mean(values))).toBeLessThan(0.02)
      // Each coordinate of a uniform unit vector has E[x²] = 1/3.
      expect(mean(values.map((v) => v * v))).toBeCloseTo(1 / 3, 2)
    }
  })

  it('adds N(0, sphereNoise²) noise when sphereNoise > 0', () => {
    const ds = generate('spheres', params({inputDim: 2, sphereNoise: 0.05, sphereRadii: [2, 2], samples: 20_000}), 3)
    const radii = Array.from({length: ds.n}, (_, i) => Math.hypot(ds.x[2 * i]!, ds.x[2 * i + 1]!))
    expect(mean(radii)).toBeCloseTo(2, 2)
    expect(std(radii)).toBeCloseTo(0.05, 2)
  })

  it('honours sphereSize: n = sphereCount × sphereSize', () => {
    const ds = generate('spheres', params({sphereSize: 25}), 1)
    expect(ds.n).toBe(50)
    expect(countClasses(ds)).toEqual([25, 25])
  })
})

describe('parameter validation', () => {
  const cases: [Problem, Partial<DatasetParams>, string][] = [
    ['spirals', {samples: 1}, '--samples'],
    ['moons', {samples: 10.5}, '--samples'],
    ['clusters', {inputDim: 1}, '--input-dim'],
    ['spirals', {inputDim: 2.5}, '--input-dim'],
    ['spirals', {noise: -0.1}, '--noise'],
    ['spirals', {noise: Number.NaN}, '--noise'],
    ['spirals', {rotations: 0}, '--rotations'],
    ['moons', {moonNoise: -1}, '--moon-noise'],
    ['complex-moons', {moonNoise: Number.POSITIVE_INFINITY}, '--moon-noise'],
    ['moons', {moonSep: -1}, '--moon-sep'],
    ['clusters', {clusterCount: 0}, '--cluster-count'],
    ['clusters', {clusterStd: -0.5}, '--cluster-std'],
    ['clusters', {clusterSep: 0}, '--cluster-sep'],
    ['clusters', {clusterSize: 0}, '--cluster-size'],
    ['clusters', {clusterSize: 2.5}, '--cluster-size'],
    ['clusters', {clusterCount: 5, samples: 4}, '--samples'],
    ['clusters', {clusterCount: 1, clusterSize: 1}, '--cluster-size'],
    ['spheres', {sphereCount: 0, sphereRadii: []}, '--sphere-count'],
    ['spheres', {sphereNoise: -1}, '--sphere-noise'],
    ['spheres', {sphereRadii: [1, 2, 3]}, '--sphere-radii'],
    ['spheres', {sphereRadii: [1, 0]}, '--sphere-radii'],
    ['spheres', {sphereSize: -3}, '--sphere-size'],
  ]

  it.each(cases)('%s %o is a usage error naming %s', (problem, overrides, flag) => {
    const err = errorOf(() => generate(problem, params(overrides), 1))
    expect(err.code).toBe('USAGE')
    expect(err.exitCode).toBe(2)
    expect(err.message).toContain(flag)
    expect(err.hint).toBeTruthy()
  })

  it('names the offending value', () => {
    // The bounds and the message come from the option table, as for the flag itself.
    const samples = errorOf(() => generate('spirals', params({samples: 1}), 1))
    expect(samples.message).toBe('--samples is out of range: 1')
    expect(samples.hint).toBe('--samples takes a whole number >= 2 and <= 1000000.')
    expect(errorOf(() => generate('spheres', params({sphereRadii: [1, 2, 3]}), 1)).message).toBe(
      '--sphere-radii has 3 radii (1,2,3) but --sphere-count is 2',
    )
  })

  it('checks only the parameters the problem uses', () => {
    const unrelated = params({sphereRadii: [1, 2, 3], clusterSep: -1, rotations: 0})
    expect(generate('moons', unrelated, 1).n).toBe(2000)
  })

  it('refuses an unknown problem', () => {
    const err = errorOf(() => generate('circles' as Problem, DEFAULT_DATASET_PARAMS, 1))
    expect(err.code).toBe('USAGE')
    expect(err.message).toContain('circles')
    expect(err.hint).toContain('complex-moons')
  })
})

// --sphere-radii is parsed by its row of the option table, like every flag.
const radiiSpec = DATASET_SPECS.find((s) => s.key === 'sphereRadii')!
const parseRadii = (text: string) => parseOption(radiiSpec, text)

describe('parsing --sphere-radii', () => {
  it('parses the flag form', () => {
    expect(parseRadii('1,2')).toEqual([1, 2])
    expect(parseRadii(' 0.5, 1.5 ,3 ')).toEqual([0.5, 1.5, 3])
    expect(parseRadii('2')).toEqual([2])
  })

  it.each([
    ['1,x', 'item 2 "x"'],
    ['1,,2', 'item 2 ""'],
    ['1,-2', 'item 2 "-2"'],
    ['0', 'item 1 "0"'],
    ['', 'item 1 ""'],
  ])('%j is a usage error naming %s', (text, item) => {
    const err = errorOf(() => parseRadii(text))
    expect(err.code).toBe('USAGE')
    expect(err.message).toContain('--sphere-radii')
    expect(err.message).toContain(item)
  })
})
