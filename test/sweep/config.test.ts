import {describe, expect, it} from 'vitest'
import {buildPlan, grid} from '../../src/sweep/config.js'

describe('sweep plans', () => {
  it('reads the structured form: swept parameters as lists or comma strings, fixed flags, ranking', () => {
    const plan = buildPlan({
      file: {
        parameters: {'hidden-dim': [32, 64], lr: '0.001, 0.003', '--seeds-per-layer': 0},
        fixed: {problem: 'moons', warmUpEpochs: 20},
        metric: 'val_loss',
        lower_is_better: true,
        parallel: 2,
      },
      fileName: 's.yaml',
    })
    expect(plan.axes).toEqual([
      {flag: 'hidden-dim', key: 'hiddenDim', values: [32, 64]},
      {flag: 'lr', key: 'lr', values: [0.001, 0.003]},
      {flag: 'seeds-per-layer', key: 'seedsPerLayer', values: [0]},
    ])
    expect(plan.fixed).toEqual([
      {flag: 'problem', key: 'problem', value: 'moons'},
      {flag: 'warm-up-epochs', key: 'warmUpEpochs', value: 20},
    ])
    expect(plan).toMatchObject({metric: 'val_loss', lowerIsBetter: true, parallel: 2})
  })

  it("reads the original's flat form and --param items together", () => {
    const plan = buildPlan({file: {num_layers: [2, 4]}, params: ['sphere-radii=1,2']})
    expect(plan.axes.map((a) => a.flag)).toEqual(['num-layers', 'sphere-radii'])
    // sphere-radii takes a comma list itself: one value [1, 2], not two.
    expect(plan.axes[1].values).toEqual([[1, 2]])
  })

  it('expands the Cartesian grid with the first axis varying slowest', () => {
    const plan = buildPlan({params: ['hidden-dim=8,16', 'lr=0.1,0.2,0.3']})
    const combos = grid(plan.axes)
    expect(combos).toHaveLength(6)
    expect(combos[0]).toEqual({'hidden-dim': 8, lr: 0.1})
    expect(combos[2]).toEqual({'hidden-dim': 8, lr: 0.3})
    expect(combos[3]).toEqual({'hidden-dim': 16, lr: 0.1})
  })

  it('rejects unknown keys and bad values naming the key, before anything runs', () => {
    expect(() => buildPlan({params: ['hiden-dim=8']})).toThrow(/Unknown training flag "hiden-dim" in --param/)
    expect(() => buildPlan({params: ['lr=0.1,fast']})).toThrow(/Bad value for lr in --param: "fast"/)
    expect(() => buildPlan({params: ['lr']})).toThrow(/--param needs name=v1,v2/)
    expect(() => buildPlan({file: {parameters: {lr: [0.1]}, extra: 1}, fileName: 'x.yaml'})).toThrow(
      /Unknown key "extra" in x.yaml/,
    )
    expect(() => buildPlan({file: {parameters: {lr: [0.1]}, fixed: {lr: 0.2}}})).toThrow(/both swept and fixed/)
    expect(() => buildPlan({params: ['lr=0.1', 'lr=0.2']})).toThrow(/given twice/)
    expect(() => buildPlan({params: ['data=a.csv']})).toThrow(/cannot be swept/)
    expect(() => buildPlan({})).toThrow(/Nothing to sweep/)
    try {
      buildPlan({params: ['batch-size=0']})
    } catch (err) {
      expect(err).toMatchObject({code: 'USAGE', exitCode: 2, details: {key: 'batch-size', value: '0'}})
    }
  })
})
