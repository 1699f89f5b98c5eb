import {describe, expect, it} from 'vitest'
import {colorLevel} from '../../src/cli/color.js'

describe('colour', () => {
  const tty = {isTTY: true}
  const pipe = {isTTY: false}

  it('colours a terminal and not a pipe', () => {
    expect(colorLevel(tty, {})).toBe(1)
    expect(colorLevel(pipe, {})).toBe(0)
  })

  it('honours NO_COLOR when present and not empty, and TERM=dumb', () => {
    expect(colorLevel(tty, {NO_COLOR: '1'})).toBe(0)
    expect(colorLevel(tty, {NO_COLOR: ''})).toBe(1)
    expect(colorLevel(tty, {TERM: 'dumb'})).toBe(0)
  })

  it('lets FORCE_COLOR win, as Node does, with its levels', () => {
    expect(colorLevel(pipe, {FORCE_COLOR: '1'})).toBe(1)
    expect(colorLevel(pipe, {FORCE_COLOR: ''})).toBe(1)
    expect(colorLevel(pipe, {FORCE_COLOR: '2'})).toBe(2)
    expect(colorLevel(pipe, {FORCE_COLOR: '3'})).toBe(3)
    expect(colorLevel(tty, {FORCE_COLOR: '0', NO_COLOR: ''})).toBe(0)
    expect(colorLevel(tty, {FORCE_COLOR: 'false'})).toBe(0)
    expect(colorLevel(pipe, {FORCE_COLOR: '1', NO_COLOR: '1'})).toBe(1)
  })
})
