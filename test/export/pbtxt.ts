/**
 * A reader for protobuf text format as Triton's config.pbtxt uses it (messages, lists, scalars,
 * enums), enough to check what morpho writes. Every field becomes a list of its values.
 */
export type PbValue = string | number | PbMessage
export interface PbMessage {
  [field: string]: PbValue[]
}

export function parsePbtxt(text: string): PbMessage {
  const tokens = text.replace(/#.*$/gm, '').match(/"(?:[^"\\]|\\.)*"|[{}[\]:,;]|[^\s{}[\]:,;"]+/g) ?? []
  let at = 0
  const next = () => tokens[at++]
  const peek = () => tokens[at]
  const scalar = (t: string): PbValue => (t.startsWith('"') ? JSON.parse(t) : /^-?\d/.test(t) ? Number(t) : t)
  const value = (): PbValue[] => {
    if (peek() === '{') {
      next()
      return [message('}')]
    }
    if (peek() === '[') {
      next()
      const out: PbValue[] = []
      while (peek() !== ']') {
        if (peek() === ',') next()
        else out.push(...value())
      }
      next()
      return out
    }
    return [scalar(next()!)]
  }
  const message = (end?: string): PbMessage => {
    const msg: PbMessage = {}
    while (at < tokens.length && peek() !== end) {
      const t = peek()
      if (t === ',' || t === ';') {
        next()
        continue
      }
      const field = next()!
      if (peek() === ':') next()
      const values = msg[field] ?? []
      values.push(...value())
      msg[field] = values
    }
    if (end) {
      if (next() !== end) throw new Error(`expected ${end}`)
    }
    return msg
  }
  return message()
}
