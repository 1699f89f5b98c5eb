import {afterEach, describe, expect, it} from 'vitest'
import {metric, table, terminalWidth} from '../src/text.js'

describe('table', () => {
  const header = ['RUN', 'STATUS', 'REASON']
  const rows = [
    ['spirals-20261201-101500-a1b2c3', 'completed', 'auto: val_acc 0.9312 >= 0.7 and promoted to Staging'],
    ['moons-20261201-101501-d4e5f6', 'failed', 'short'],
  ]

  it('is as wide as its cells without a width', () => {
    expect(table(header, rows, {}).split('\n')).toEqual([
      'RUN                             STATUS     REASON',
      'spirals-20261201-101500-a1b2c3  completed  auto: val_acc 0.9312 >= 0.7 and promoted to Staging',
      'moons-20261201-101501-d4e5f6    failed     short',
    ])
  })

  it('fits a width by cutting the widest cells with "…", keeping the columns asked for whole', () => {
    const lines = table(header, rows, {width: 60, keep: ['RUN']}).split('\n')
    expect(lines).toEqual([
      'RUN                             STATUS     REASON',
      'spirals-20261201-101500-a1b2c3  completed  auto: val_acc 0.…',
      'moons-20261201-101501-d4e5f6    failed     short',
    ])
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(60)
    // Without keep the id column gives up room too, once REASON is as narrow as it.
    const narrow = table(header, rows, {width: 40}).split('\n')
    for (const line of narrow) expect(line.length).toBeLessThanOrEqual(40)
    expect(narrow[1]).toBe('spirals-2026…  completed  auto: val_acc…')
  })

  it('cuts a line at the edge when the kept columns alone are too wide', () => {
    const lines = table(header, rows, {width: 20, keep: ['RUN', 'STATUS', 'REASON']}).split('\n')
    expect(lines[1]).toBe('spirals-20261201-10…')
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(20)
  })
})

describe('terminalWidth', () => {
  const before = process.env.COLUMNS
  afterEach(() => {
    if (before === undefined) delete process.env.COLUMNS
    else process.env.COLUMNS = before
  })

  it("is the terminal's, else $COLUMNS, else no limit", () => {
    delete process.env.COLUMNS
    expect(terminalWidth({isTTY: true, columns: 91})).toBe(91)
    expect(terminalWidth({isTTY: false})).toBeUndefined()
    process.env.COLUMNS = '72'
    expect(terminalWidth({isTTY: false})).toBe(72)
    expect(terminalWidth({isTTY: true, columns: 91})).toBe(91)
  })
})

describe('metric', () => {
  it('prints what was measured with 4 decimals, whole values too', () => {
    expect([1, 0.985, 0, Number.NaN, undefined, null].map(metric)).toEqual([
      '1.0000',
      '0.9850',
      '0.0000',
      'NaN',
      '-',
      '-',
    ])
  })
})
