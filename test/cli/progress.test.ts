import {describe, expect, it} from 'vitest'
import {duration, timing} from '../../src/cli/progress.js'

describe('training progress timing', () => {
  it('shows the time so far, the time per epoch and the time left', () => {
    // Three epochs of 2 s each out of ten.
    expect(timing([2, 4, 6], 10)).toBe('6s elapsed, 2.00s/epoch, ETA 14s')
    expect(timing([2, 4, 6, 8, 10, 12, 14, 16, 18, 20], 10)).toBe('20s elapsed, 2.00s/epoch, ETA 0s')
  })

  it('follows the recent epochs, so a faster phase 2 shortens the estimate', () => {
    // Ten warm-up epochs of 3 s, then ten of 1 s: the estimate uses the last ten only.
    const ends = [...Array.from({length: 10}, (_, i) => 3 * (i + 1)), ...Array.from({length: 10}, (_, i) => 31 + i)]
    expect(timing(ends, 120)).toBe('40s elapsed, 1.00s/epoch, ETA 1m40s')
  })

  it('writes durations as seconds, minutes or hours', () => {
    expect(duration(0.4)).toBe('0s')
    expect(duration(59.4)).toBe('59s')
    expect(duration(185)).toBe('3m05s')
    expect(duration(3725)).toBe('1h02m')
  })
})
