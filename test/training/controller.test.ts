import {describe, expect, it} from 'vitest'
import {type GrowthSignals, PlateauController, UnderfitController, weakestSeed} from '../../src/training/controller.js'

describe('plateau controller', () => {
  it('counts epochs without an improvement of at least delta over the best loss', () => {
    const c = new PlateauController({patience: 3, delta: 0.01, accThreshold: 0.95})
    expect(c.step(1.0, 0.5)).toMatchObject({plateau: 0, improved: true, germinate: false})
    expect(c.step(0.995, 0.5)).toMatchObject({plateau: 1, improved: false})
    // Oscillating below the previous epoch but not below the best: still a plateau.
    expect(c.step(1.2, 0.5).plateau).toBe(2)
    expect(c.step(0.999, 0.5)).toMatchObject({plateau: 3, germinate: true})
    // The counter is not reset by the decision itself, only by a germination.
    expect(c.step(0.998, 0.5)).toMatchObject({plateau: 4, germinate: true})
    c.germinated()
    expect(c.plateau).toBe(0)
    expect(c.step(0.97, 0.5)).toMatchObject({plateau: 0, improved: true})
    expect(c.bestLoss).toBe(0.97)
  })

  it('never germinates once val_acc reaches the accuracy gate', () => {
    const c = new PlateauController({patience: 1, delta: 0, accThreshold: 0.9})
    c.step(0.5, 0.95)
    expect(c.step(0.6, 0.95)).toMatchObject({plateau: 1, germinate: false})
    expect(c.step(0.6, 0.89)).toMatchObject({plateau: 2, germinate: true})
  })

  it('treats an improvement of exactly delta as an improvement', () => {
    const c = new PlateauController({patience: 2, delta: 0.5, accThreshold: 1})
    c.step(2, 0)
    expect(c.step(1.5, 0)).toMatchObject({improved: true, plateau: 0})
  })
})

describe('underfit controller', () => {
  const config = {patience: 3, delta: 0.005, accThreshold: 1, growGate: 0.5, cooldown: 2, chanceLoss: Math.log(2)}
  /** Feeds a trace of [train_loss, val_loss] epochs; returns the epochs at which it germinated and its last decision. */
  const replay = (trace: [number, number][], c = new UnderfitController(config)) => {
    const grown: number[] = []
    let best = Number.POSITIVE_INFINITY
    let done: string | undefined
    trace.forEach(([trainLoss, valLoss], i) => {
      best = Math.min(best, valLoss)
      const s: GrowthSignals = {
        epoch: i + 1,
        trainLoss,
        valLoss,
        valAcc: 0.7,
        bestValLoss: best,
        bestEpoch: trace.findIndex(([, v]) => v === best) + 1,
        dormant: 4 - grown.length,
        growing: false,
      }
      const d = c.step(s)
      done = d.done
      if (d.germinate) {
        c.germinated(s)
        grown.push(s.epoch)
      }
    })
    return {grown, done}
  }

  it('germinates when val_loss stalls while the network under-fits: train_loss high and close to val_loss', () => {
    const stalled: [number, number][] = Array.from({length: 8}, () => [0.6, 0.62])
    expect(replay(stalled).grown).toEqual([4])
  })

  it('does not germinate on over-fitting: the training loss stalls low while val_loss climbs from its best', () => {
    const overfit: [number, number][] = Array.from({length: 12}, (_, i) => [0.2, 0.34 + 0.05 * i])
    const {grown, done} = replay(overfit)
    expect(grown).toEqual([])
    expect(done).toMatch(/^over-fitting/)
  })

  it('does not germinate once the network fits its training data', () => {
    const fitted: [number, number][] = Array.from({length: 8}, () => [0.01, 0.012])
    const {grown, done} = replay(fitted)
    expect(grown).toEqual([])
    expect(done).toMatch(/the network fits its training data/)
  })

  it('waits out a cool-down after a germination, and stops growing when the germination did not lower val_loss', () => {
    // Stalled throughout: it germinates at 4, cools down for 2 epochs, then sees no better val_loss.
    const stalled: [number, number][] = Array.from({length: 14}, () => [0.6, 0.62])
    const {grown, done} = replay(stalled)
    expect(grown).toEqual([4])
    expect(done).toMatch(/the germination at epoch 4 did not lower val_loss/)
  })

  it('grows again after a germination that paid off, once the cool-down is over and val_loss stalls again', () => {
    const trace: [number, number][] = [
      ...Array.from({length: 4}, (): [number, number] => [0.6, 0.62]),
      // After the germination at epoch 4 both losses fall, then stall at the lower level.
      ...Array.from({length: 8}, (): [number, number] => [0.4, 0.42]),
    ]
    expect(replay(trace).grown).toEqual([4, 8])
  })

  it('says why phase 2 cannot start', () => {
    const c = new UnderfitController(config)
    const s: GrowthSignals = {
      epoch: 10,
      trainLoss: 0.6,
      valLoss: 0.62,
      valAcc: 0.7,
      bestValLoss: 0.6,
      bestEpoch: 2,
      dormant: 0,
      growing: false,
    }
    expect(c.cannotStart(s)).toBe('the network has no seeds')
    expect(c.cannotStart({...s, dormant: 2})).toBeUndefined()
    expect(c.cannotStart({...s, dormant: 2, trainLoss: 0.1, valLoss: 0.5})).toMatch(
      /^over-fitting: train_loss 0.1000 is below 0.5 × val_loss 0.5000/,
    )
    // Still learning (a new best within --patience epochs): one bad epoch does not skip phase 2.
    expect(c.cannotStart({...s, dormant: 2, trainLoss: 0.1, valLoss: 0.5, bestEpoch: 9})).toBeUndefined()
    expect(c.cannotStart({...s, dormant: 2, trainLoss: 0.001, valLoss: 0.5, bestEpoch: 9})).toMatch(
      /fits its training data/,
    )
  })
})

describe('weakest seed', () => {
  it('picks the lowest activation variance, the earlier seed on a tie', () => {
    expect(
      weakestSeed([
        {index: 0, health: 0.5},
        {index: 3, health: 0.2},
        {index: 5, health: 0.2},
      ]),
    ).toBe(3)
  })

  it('skips unmeasurable seeds and returns undefined when nothing can be chosen', () => {
    expect(
      weakestSeed([
        {index: 1, health: Number.NaN},
        {index: 2, health: 0.9},
      ]),
    ).toBe(2)
    expect(weakestSeed([])).toBeUndefined()
  })
})
