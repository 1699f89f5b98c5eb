/**
 * A small language for the JSON morpho prints and serves: each shape can check a value (exact
 * keys, types, allowed values) and describe itself in one line for the README. The README's
 * JSON reference is generated from the same shapes the tests check the output against, so the
 * two cannot drift apart.
 */

export type Shape =
  | {kind: 'string' | 'number' | 'integer' | 'boolean' | 'null' | 'any'}
  | {kind: 'literal'; values: readonly (string | number | boolean)[]}
  | {kind: 'array'; of: Shape}
  | {kind: 'object'; fields: Record<string, Field>; rest?: Shape}
  | {kind: 'record'; of: Shape}
  | {kind: 'union'; of: Shape[]}
  | {kind: 'named'; name: string; shape: () => Shape}

export interface Field {
  shape: Shape
  optional?: boolean
}

export const str: Shape = {kind: 'string'}
export const num: Shape = {kind: 'number'}
export const int: Shape = {kind: 'integer'}
export const bool: Shape = {kind: 'boolean'}
export const nul: Shape = {kind: 'null'}
export const any: Shape = {kind: 'any'}
/** An ISO 8601 time in UTC, as `new Date().toISOString()` writes it. */
export const isoTime: Shape = {kind: 'named', name: 'time', shape: () => str}

export const oneOf = (...values: (string | number | boolean)[]): Shape => ({kind: 'literal', values})
export const arr = (of: Shape): Shape => ({kind: 'array', of})
/** An object with exactly these keys (`opt(...)` ones may be absent). */
export const obj = (fields: Record<string, Shape | Field>): Shape => ({
  kind: 'object',
  fields: Object.fromEntries(
    Object.entries(fields).map(([k, f]) => [k, 'shape' in f && !('kind' in f) ? f : {shape: f as Shape}]),
  ),
})
/** An object with these keys, and any others (metric names) with the values of `rest`. */
export const objAnd = (fields: Record<string, Shape | Field>, rest: Shape): Shape => ({
  ...(obj(fields) as Extract<Shape, {kind: 'object'}>),
  rest,
})
/** An object whose keys are data (metric names, tags): every value has this shape. */
export const record = (of: Shape): Shape => ({kind: 'record', of})
export const union = (...of: Shape[]): Shape => ({kind: 'union', of})
export const nullable = (shape: Shape): Shape => union(shape, nul)
export const opt = (shape: Shape): Field => ({shape, optional: true})
/** A shape with a name: described once under that name and referred to by it. */
export const named = (name: string, shape: () => Shape): Shape => ({kind: 'named', name, shape})

/** Every way `value` differs from `shape`, as "path: problem" lines (empty when it fits). */
export function check(shape: Shape, value: unknown, path = '$'): string[] {
  switch (shape.kind) {
    case 'any':
      return []
    case 'string':
      return typeof value === 'string' ? [] : [`${path}: expected a string, got ${describe(value)}`]
    case 'number':
      return typeof value === 'number' && Number.isFinite(value)
        ? []
        : [`${path}: expected a number, got ${describe(value)}`]
    case 'integer':
      return Number.isInteger(value) ? [] : [`${path}: expected an integer, got ${describe(value)}`]
    case 'boolean':
      return typeof value === 'boolean' ? [] : [`${path}: expected true or false, got ${describe(value)}`]
    case 'null':
      return value === null ? [] : [`${path}: expected null, got ${describe(value)}`]
    case 'literal':
      return shape.values.includes(value as string)
        ? []
        : [`${path}: expected one of ${shape.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describe(value)}`]
    case 'array':
      if (!Array.isArray(value)) return [`${path}: expected a list, got ${describe(value)}`]
      return value.flatMap((item, i) => check(shape.of, item, `${path}[${i}]`))
    case 'record':
      if (!isPlainObject(value)) return [`${path}: expected an object, got ${describe(value)}`]
      return Object.entries(value).flatMap(([k, v]) => check(shape.of, v, `${path}.${k}`))
    case 'object': {
      if (!isPlainObject(value)) return [`${path}: expected an object, got ${describe(value)}`]
      const problems: string[] = []
      for (const [key, field] of Object.entries(shape.fields)) {
        if (!Object.hasOwn(value, key)) {
          if (!field.optional) problems.push(`${path}: missing key "${key}"`)
          continue
        }
        problems.push(...check(field.shape, value[key], `${path}.${key}`))
      }
      for (const key of Object.keys(value)) {
        if (Object.hasOwn(shape.fields, key)) continue
        if (shape.rest) problems.push(...check(shape.rest, value[key], `${path}.${key}`))
        else problems.push(`${path}: unexpected key "${key}"`)
      }
      return problems
    }
    case 'union': {
      const attempts = shape.of.map((s) => check(s, value, path))
      if (attempts.some((a) => a.length === 0)) return []
      // The closest alternative explains best what is wrong.
      return attempts.reduce((a, b) => (b.length < a.length ? b : a))
    }
    case 'named':
      return check(shape.shape(), value, path)
  }
}

/** The shape in one line of TypeScript-like notation; named shapes by their name. */
export function describeShape(shape: Shape): string {
  switch (shape.kind) {
    case 'literal':
      return shape.values.map((v) => JSON.stringify(v)).join(' | ')
    case 'array': {
      const inner = describeShape(shape.of)
      return shape.of.kind === 'union' || shape.of.kind === 'literal' ? `(${inner})[]` : `${inner}[]`
    }
    case 'record':
      return `{[name]: ${describeShape(shape.of)}}`
    case 'object': {
      const fields = Object.entries(shape.fields).map(
        ([k, f]) => `${keyText(k)}${f.optional ? '?' : ''}: ${describeShape(f.shape)}`,
      )
      if (shape.rest) fields.push(`[name]: ${describeShape(shape.rest)}`)
      return fields.length === 0 ? '{}' : `{${fields.join(', ')}}`
    }
    case 'union':
      return shape.of.map(describeShape).join(' | ')
    case 'named':
      return shape.name
    default:
      return shape.kind
  }
}

/**
 * The shape as text that fits `width` columns: objects that do not fit on the line are spread
 * over lines, one key each, indented.
 */
export function formatShape(shape: Shape, width = 100, indent = ''): string {
  const line = describeShape(shape)
  if (indent.length + line.length <= width) return line
  if (shape.kind === 'array' && shape.of.kind === 'object') return `${formatShape(shape.of, width, indent)}[]`
  if (shape.kind === 'union' && shape.of.some((s) => s.kind === 'object')) {
    return shape.of.map((s) => formatShape(s, width, indent)).join(`\n${indent}| `)
  }
  if (shape.kind !== 'object') return line
  const inner = `${indent}  `
  const fields = Object.entries(shape.fields).map(
    ([k, f]) => `${inner}${keyText(k)}${f.optional ? '?' : ''}: ${formatShape(f.shape, width, inner)}`,
  )
  if (shape.rest) fields.push(`${inner}[name]: ${formatShape(shape.rest, width, inner)}`)
  return `{\n${fields.join(',\n')}\n${indent}}`
}

function keyText(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? key : JSON.stringify(key)
}

/** Every named shape `shape` refers to, each once, in order of first use (for a glossary). */
export function namedShapes(shapes: Shape[]): {name: string; shape: Shape}[] {
  const seen = new Map<string, Shape>()
  const visit = (s: Shape) => {
    switch (s.kind) {
      case 'array':
      case 'record':
        visit(s.of)
        break
      case 'object':
        for (const f of Object.values(s.fields)) visit(f.shape)
        if (s.rest) visit(s.rest)
        break
      case 'union':
        for (const x of s.of) visit(x)
        break
      case 'named':
        if (!seen.has(s.name)) {
          const inner = s.shape()
          seen.set(s.name, inner)
          visit(inner)
        }
        break
      default:
    }
  }
  for (const s of shapes) visit(s)
  return [...seen].map(([name, shape]) => ({name, shape}))
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing'
  const text = JSON.stringify(value)
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}
