import {Chalk, type ChalkInstance} from 'chalk'
import type {Env} from '../config.js'

/**
 * Colour on a stream: FORCE_COLOR wins (as in Node), then NO_COLOR (present and not empty),
 * then TERM=dumb, then whether the stream is a terminal.
 */
export function colorLevel(stream: {isTTY?: boolean}, env: Env = process.env): 0 | 1 | 2 | 3 {
  const force = env.FORCE_COLOR
  if (force !== undefined) {
    if (force === '0' || force === 'false') return 0
    if (force === '' || force === '1' || force === 'true') return 1
    const n = Number.parseInt(force, 10)
    return n >= 3 ? 3 : n === 2 ? 2 : 1
  }
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return 0
  if (env.TERM === 'dumb') return 0
  return stream.isTTY ? 1 : 0
}

export function paintFor(stream: {isTTY?: boolean}, env: Env = process.env): ChalkInstance {
  return new Chalk({level: colorLevel(stream, env)})
}
