import {describe, expect, it} from 'vitest'
import {PlateauController, weakestSeed} from '../../src/training/controller.js'

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
