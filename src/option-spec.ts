import {usageError} from './errors.js'

/**
 * One row of an option table: an option's flag, default and bounds. The data generator's
 * rows (src/data/params.ts) and training's (src/training/options.ts) form one table; the
 * train command builds its flags from it, sweeps check their keys against it, and the data
 * generator checks its parameters with it, so none of them can disagree.
 */

export type OptionKind = 'int' | 'float' | 'string' | 'radii'

export interface OptionSpec<K extends string = string> {
  key: K
  flag: string
  /** Other names the flag answers to: the original runner's, where they differ (`--problem-type`). */
  aliases?: string[]
  kind: OptionKind
  group: 'Data' | 'Model' | 'Training' | 'Seeds'
  description: string
  default?: number | string | number[]
  min?: number
  max?: number
  /** Bounds are exclusive (e.g. a fraction strictly between 0 and 1). */
  exclusive?: boolean
  /** The only values a text option takes. */
  choices?: readonly string[]
  /** Said after the choices when a value is not one of them. */
  choicesNote?: string
  /** The problems whose data this option shapes; absent: every problem. */
  problems?: readonly string[]
}

/** Parses one option from text (a flag value, a sweep value) or a typed value, and checks its bounds. */
export function parseOption(spec: OptionSpec, raw: unknown): number | string | number[] {
  const fail = (why: string) =>
    usageError(`--${spec.flag} ${why}: ${JSON.stringify(raw)}`, {
      hint: describeBounds(spec),
      details: {flag: spec.flag},
    })
  if (spec.kind === 'string') {
    if (typeof raw !== 'string' || raw === '') throw fail('needs a text value')
    if (spec.choices && !spec.choices.includes(raw)) {
      throw usageError(`Unknown ${spec.flag} "${raw}"`, {
        hint: `Use one of: ${spec.choices.join(', ')}${spec.choicesNote ? ` ${spec.choicesNote}` : ''}.`,
        details: {flag: spec.flag, value: raw},
      })
    }
    return raw
  }
  if (spec.kind === 'radii') return parsePositiveList(spec.flag, raw)
  const value = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN
  if (!Number.isFinite(value)) throw fail('is not a number')
  if (spec.kind === 'int' && !Number.isInteger(value)) throw fail('is not a whole number')
  const below = spec.min !== undefined && (spec.exclusive ? value <= spec.min : value < spec.min)
  const above = spec.max !== undefined && (spec.exclusive ? value >= spec.max : value > spec.max)
  if (below || above) throw fail('is out of range')
  return value
}

/** A spec's default, copied so nobody can change the table through it. */
export function defaultOf(spec: OptionSpec): number | string | number[] | undefined {
  return Array.isArray(spec.default) ? [...spec.default] : spec.default
}

function describeBounds(spec: OptionSpec): string {
  const kind = spec.kind === 'int' ? 'a whole number' : spec.kind === 'float' ? 'a number' : 'a value'
  const lo = spec.min === undefined ? '' : `${spec.exclusive ? '>' : '>='} ${spec.min}`
  const hi = spec.max === undefined ? '' : `${spec.exclusive ? '<' : '<='} ${spec.max}`
  const bounds = [lo, hi].filter(Boolean).join(' and ')
  return `--${spec.flag} takes ${kind}${bounds ? ` ${bounds}` : ''}.`
}

/** "1,2", " 0.5, 1.5 ,3 " or [1, 2] → numbers greater than 0; an error names the bad item. */
function parsePositiveList(flag: string, raw: unknown): number[] {
  const text = Array.isArray(raw) ? raw.join(',') : String(raw)
  const items = Array.isArray(raw) ? raw.map((item) => String(item).trim()) : text.split(',').map((i) => i.trim())
  if (items.length === 0) items.push('')
  return items.map((item, i) => {
    const value = item === '' ? Number.NaN : Number(item)
    if (!Number.isFinite(value) || value <= 0) {
      throw usageError(
        `--${flag} "${text}": item ${i + 1} "${item}" is not a ${Number.isFinite(value) ? 'positive ' : ''}number`,
        {
          hint: `Give comma-separated numbers greater than 0, e.g. --${flag} 1,2.`,
          details: {flag, value: text, item: i + 1},
        },
      )
    }
    return value
  })
}
