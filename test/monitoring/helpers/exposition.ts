/**
 * A strict reader of the Prometheus text exposition format (version 0.0.4), enough to say
 * that a registry's output parses and to look at its families, labels and values.
 */

export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

export interface Family {
  name: string
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped'
  help: string
  samples: Sample[]
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/
const SUFFIXES: Record<Family['type'], string[]> = {
  counter: [''],
  gauge: [''],
  untyped: [''],
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
}

export function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>()
  const lines = text.split('\n')
  lines.forEach((line, index) => {
    const where = `line ${index + 1}: ${line}`
    if (line.trim() === '') return
    if (line.startsWith('#')) {
      const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line)
      if (!meta) return
      const [, kind, name, rest] = meta as unknown as [string, string, string, string]
      if (!NAME.test(name)) throw new Error(`bad metric name, ${where}`)
      const family = families.get(name) ?? {name, type: 'untyped', help: '', samples: []}
      if (kind === 'HELP') family.help = rest
      else {
        if (!(rest in SUFFIXES)) throw new Error(`bad type, ${where}`)
        family.type = rest as Family['type']
      }
      families.set(name, family)
      return
    }
    const sample = parseSample(line, where)
    const family = familyOf(families, sample.name)
    if (!family) throw new Error(`sample without a # TYPE family, ${where}`)
    family.samples.push(sample)
  })
  return families
}

function familyOf(families: Map<string, Family>, sampleName: string): Family | undefined {
  for (const family of families.values()) {
    for (const suffix of SUFFIXES[family.type]) {
      if (family.name + suffix === sampleName) return family
    }
  }
  return undefined
}

function parseSample(line: string, where: string): Sample {
  const open = line.indexOf('{')
  const space = line.indexOf(' ')
  let name: string
  let labels: Record<string, string> = {}
  let rest: string
  if (open !== -1 && (space === -1 || open < space)) {
    name = line.slice(0, open)
    const close = findClose(line, open, where)
    labels = parseLabels(line.slice(open + 1, close), where)
    rest = line.slice(close + 1)
  } else {
    name = line.slice(0, space)
    rest = line.slice(space)
  }
  if (!NAME.test(name)) throw new Error(`bad sample name, ${where}`)
  const parts = rest.trim().split(/\s+/)
  if (parts.length < 1 || parts.length > 2) throw new Error(`bad value, ${where}`)
  return {name, labels, value: parseValue(parts[0]!, where)}
}

function findClose(line: string, open: number, where: string): number {
  let quoted = false
  for (let i = open + 1; i < line.length; i++) {
    const c = line[i]
    if (quoted && c === '\\') i++
    else if (c === '"') quoted = !quoted
    else if (!quoted && c === '}') return i
  }
  throw new Error(`unclosed label set, ${where}`)
}

function parseLabels(body: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {}
  const re = /\s*([^=\s]+)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|$)/gy
  let at = 0
  while (at < body.length) {
    re.lastIndex = at
    const m = re.exec(body)
    if (!m) throw new Error(`bad labels, ${where}`)
    const [, key, raw] = m as unknown as [string, string, string]
    if (!LABEL.test(key)) throw new Error(`bad label name ${key}, ${where}`)
    if (key in labels) throw new Error(`duplicate label ${key}, ${where}`)
    labels[key] = raw.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c))
    at = re.lastIndex
  }
  return labels
}

function parseValue(raw: string, where: string): number {
  const lower = raw.toLowerCase()
  if (lower === 'nan') return Number.NaN
  if (lower === '+inf' || lower === 'inf') return Number.POSITIVE_INFINITY
  if (lower === '-inf') return Number.NEGATIVE_INFINITY
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(raw)) throw new Error(`bad value ${raw}, ${where}`)
  return Number(raw)
}

/** Label names of a family's samples, bucket `le` left out. */
export function labelNamesOf(family: Family): string[] {
  const names = new Set<string>()
  for (const s of family.samples) for (const k of Object.keys(s.labels)) if (k !== 'le') names.add(k)
  return [...names].sort()
}
