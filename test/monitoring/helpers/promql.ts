/**
 * Pulls the series selectors and grouping labels out of a PromQL expression (as written in
 * the alert rules and the dashboards), so tests can hold them against the metrics morpho
 * really registers. Not a full parser: it knows the PromQL vocabulary well enough to tell a
 * metric name from a function, a keyword, a label list, a string, a range or a Grafana
 * variable.
 */

export interface Matcher {
  label: string
  op: '=' | '!=' | '=~' | '!~'
  value: string
}

export interface Selector {
  metric: string
  matchers: Matcher[]
}

export interface Extracted {
  selectors: Selector[]
  /** Labels named in by / without / on / ignoring / group_left / group_right lists. */
  groupingLabels: string[]
  /** Functions and aggregations called. */
  functions: string[]
}

const LABEL_LIST_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right'])
// An aggregation may put its `by (...)` before its argument: `sum by (le) (x)`.
const AGGREGATIONS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
])
const OPERATOR_KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'atan2', 'inf', 'nan'])

export function extract(expr: string): Extracted {
  const selectors: Selector[] = []
  const groupingLabels: string[] = []
  const functions: string[] = []
  let i = 0
  const n = expr.length

  const skipSpace = () => {
    while (i < n && /\s/.test(expr[i]!)) i++
  }
  const readIdent = () => {
    const start = i
    while (i < n && /[a-zA-Z0-9_:]/.test(expr[i]!)) i++
    return expr.slice(start, i)
  }
  const readString = () => {
    const quote = expr[i]!
    i++
    let out = ''
    while (i < n && expr[i] !== quote) {
      if (expr[i] === '\\' && quote !== '`') {
        out += expr[i + 1]
        i += 2
      } else {
        out += expr[i]
        i++
      }
    }
    if (i >= n) throw new Error(`unterminated string in: ${expr}`)
    i++
    return out
  }
  const readMatchers = (): Matcher[] => {
    // at '{'
    i++
    const matchers: Matcher[] = []
    for (;;) {
      skipSpace()
      if (expr[i] === '}') {
        i++
        return matchers
      }
      const label = readIdent()
      skipSpace()
      const op = /^(=~|!~|!=|=)/.exec(expr.slice(i))?.[0] as Matcher['op'] | undefined
      if (!label || !op) throw new Error(`bad label matcher at ${i} in: ${expr}`)
      i += op.length
      skipSpace()
      if (!/["'`]/.test(expr[i] ?? '')) throw new Error(`matcher value must be a string at ${i} in: ${expr}`)
      matchers.push({label, op, value: readString()})
      skipSpace()
      if (expr[i] === ',') i++
    }
  }
  const readLabelList = () => {
    // at '('
    const close = expr.indexOf(')', i)
    if (close === -1) throw new Error(`unclosed label list in: ${expr}`)
    for (const label of expr
      .slice(i + 1, close)
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      groupingLabels.push(label)
    }
    i = close + 1
  }

  while (i < n) {
    const c = expr[i]!
    if (/\s/.test(c)) {
      i++
    } else if (c === '"' || c === "'" || c === '`') {
      readString()
    } else if (c === '[') {
      const close = expr.indexOf(']', i)
      if (close === -1) throw new Error(`unclosed range in: ${expr}`)
      i = close + 1
    } else if (c === '$') {
      // A Grafana variable outside a string: $__interval, ${run}.
      i++
      if (expr[i] === '{') i = expr.indexOf('}', i) + 1
      else readIdent()
    } else if (/[0-9.]/.test(c)) {
      while (i < n && /[0-9.eE]/.test(expr[i]!)) {
        if (/[eE]/.test(expr[i]!) && /[+-]/.test(expr[i + 1] ?? '')) i++
        i++
      }
    } else if (/[a-zA-Z_:]/.test(c)) {
      const ident = readIdent()
      skipSpace()
      const next = expr[i]
      const lower = ident.toLowerCase()
      if (LABEL_LIST_KEYWORDS.has(lower)) {
        if (next === '(') readLabelList()
      } else if (OPERATOR_KEYWORDS.has(lower)) {
        // nothing to record
      } else if (next === '(' || AGGREGATIONS.has(lower)) {
        functions.push(ident)
      } else {
        selectors.push({metric: ident, matchers: next === '{' ? readMatchers() : []})
      }
    } else if (c === '{') {
      throw new Error(`a selector without a metric name is not used here: ${expr}`)
    } else {
      i++
    }
  }
  return {selectors, groupingLabels, functions}
}

/** Grafana's template variables, replaced so the expression is plain PromQL. */
export function substituteGrafanaVariables(expr: string): string {
  return expr
    .replace(/\$__rate_interval|\$__interval|\$__range/g, '5m')
    .replace(/\$\{?([a-zA-Z_][a-zA-Z0-9_]*)\}?/g, '.*')
}
