import {describe, expect, it} from 'vitest'
import {SeedLifecycle, seedId} from '../../src/model/seeds.js'

describe('seed lifecycle', () => {
  const config = {blendSteps: 30, progressThresh: 0.6}

  it('names seeds by layer and position, 1-based as the original', () => {
    expect(seedId(0, 0)).toBe('seed1_1')
    expect(seedId(7, 1)).toBe('seed8_2')
  })

  it('goes dormant → training → blending → active, one way, at the original step counts', () => {
    const seed = new SeedLifecycle('seed1_1', 0, config)
    expect(seed.state).toBe('dormant')
    expect(seed.alpha).toBe(0)
    expect(seed.afterStep()).toBeUndefined()
    expect(seed.state).toBe('dormant')

    expect(seed.germinate(12)).toEqual({from: 'dormant', to: 'training'})
    expect(seed.germinatedAtEpoch).toBe(12)
    const transitions = []
    let steps = 0
    while (seed.state === 'training') {
      steps++
      const t = seed.afterStep()
      if (t) transitions.push(t)
      expect(seed.alpha).toBe(0)
    }
    // progress 0.01 per step, threshold 0.6: the original blended on step 60.
    expect(steps).toBe(60)
    expect(transitions).toEqual([{from: 'training', to: 'blending'}])
    expect(seed.alpha).toBe(0)

    const alphas: number[] = []
    while (seed.state === 'blending') {
      const t = seed.afterStep()
      alphas.push(seed.alpha)
      if (t) expect(t).toEqual({from: 'blending', to: 'active'})
    }
    expect(alphas).toHaveLength(30)
    expect(alphas[0]).toBeCloseTo(1 / 30, 12)
    for (let i = 1; i < alphas.length; i++) expect(alphas[i] - alphas[i - 1]).toBeCloseTo(1 / 30, 12)
    // The last blending step and the active state agree exactly: alpha is 1, not 0.999….
    expect(alphas.at(-1)).toBe(1)
    expect(seed.state).toBe('active')
    expect(seed.afterStep()).toBeUndefined()
    expect(seed.alpha).toBe(1)
  })

  it('refuses to germinate twice', () => {
    const seed = new SeedLifecycle('seed1_1', 0, config)
    seed.germinate(1)
    expect(() => seed.germinate(2)).toThrow(/not dormant/)
  })

  it('derives the shadow steps from the progress threshold', () => {
    expect(new SeedLifecycle('s', 0, {blendSteps: 5, progressThresh: 0.25}).shadowStepsNeeded).toBe(25)
    expect(new SeedLifecycle('s', 0, {blendSteps: 5, progressThresh: 0.001}).shadowStepsNeeded).toBe(1)
  })
})
