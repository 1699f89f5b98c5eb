import {EXCLUDED_ENDPOINTS} from '../monitoring/inference-metrics.js'

/**
 * The served model's traffic, read from the server's own /metrics text: cumulative counts the
 * page turns into rates by comparing two snapshots, the way Prometheus' rate() would. Requests
 * to the monitoring endpoints and to the page itself are left out, so an idle server watched
 * in a browser (which polls every few seconds) shows no traffic.
 */

export interface TrafficSnapshot {
  /** Unix time in milliseconds when the metrics were read. */
  time: number
  /** Requests answered (page and monitoring endpoints excluded). */
  requests: number
  /** Of those, answered with a 5xx status (the alert rules' definition of an error). */
  errors: number
  /** Of those, refused with a 4xx status (bad input, unknown version). */
  rejected: number
  /** inference_request_duration_seconds over the same endpoints: cumulative buckets by upper bound. */
  latency: {count: number; sum: number; buckets: {le: number; count: number}[]}
  /** model_prediction_duration_seconds: the forward pass alone. */
  prediction: {count: number; sum: number}
  /** inference_model_loaded, when exposed. */
  modelLoaded: number | null
}

export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

// The same list the alert rules and dashboards leave out, so the page and Grafana agree.
const IGNORED: ReadonlySet<string> = new Set(EXCLUDED_ENDPOINTS)

export function trafficSnapshot(text: string, time: number = Date.now()): TrafficSnapshot {
  let requests = 0
  let errors = 0
  let rejected = 0
  let count = 0
  let sum = 0
  const buckets = new Map<number, number>()
  let predCount = 0
  let predSum = 0
  let modelLoaded: number | null = null
  for (const s of parseExposition(text)) {
    const counted = !IGNORED.has(s.labels.endpoint ?? '')
    switch (s.name) {
      case 'inference_requests_total':
        if (!counted) break
        requests += s.value
        if (s.labels.status?.startsWith('5')) errors += s.value
        else if (s.labels.status?.startsWith('4')) rejected += s.value
        break
      case 'inference_request_duration_seconds_bucket': {
        if (!counted) break
        const le = s.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.labels.le)
        if (!Number.isNaN(le)) buckets.set(le, (buckets.get(le) ?? 0) + s.value)
        break
      }
      case 'inference_request_duration_seconds_count':
        if (counted) count += s.value
        break
      case 'inference_request_duration_seconds_sum':
        if (counted) sum += s.value
        break
      case 'model_prediction_duration_seconds_count':
        predCount += s.value
        break
      case 'model_prediction_duration_seconds_sum':
        predSum += s.value
        break
      case 'inference_model_loaded':
        modelLoaded = s.value
        break
    }
  }
  return {
    time,
    requests,
    errors,
    rejected,
    latency: {
      count,
      sum,
      buckets: [...buckets.entries()].sort((a, b) => a[0] - b[0]).map(([le, n]) => ({le, count: n})),
    },
    prediction: {count: predCount, sum: predSum},
    modelLoaded,
  }
}

/**
 * Samples of the Prometheus text format (version 0.0.4): `name{label="value",…} value [timestamp]`,
 * with \\, \" and \n escapes in label values. Comments and lines it cannot read are skipped.
 */
export function parseExposition(text: string): Sample[] {
  const out: Sample[] = []
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const sample = parseLine(line)
    if (sample) out.push(sample)
  }
  return out
}

function parseLine(line: string): Sample | undefined {
  const nameEnd = line.search(/[{\s]/)
  if (nameEnd <= 0) return undefined
  const name = line.slice(0, nameEnd)
  const labels: Record<string, string> = {}
  let i = nameEnd
  if (line[i] === '{') {
    i++
    for (;;) {
      while (line[i] === ' ' || line[i] === ',') i++
      if (line[i] === '}') {
        i++
        break
      }
      const eq = line.indexOf('=', i)
      if (eq === -1 || line[eq + 1] !== '"') return undefined
      const key = line.slice(i, eq).trim()
      let value = ''
      let j = eq + 2
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '\\' && j + 1 < line.length) {
          j++
          value += line[j] === 'n' ? '\n' : line[j]
        } else {
          value += line[j]
        }
      }
      if (j >= line.length) return undefined
      labels[key] = value
      i = j + 1
    }
  }
  const value = parseValue(line.slice(i).trim().split(/\s+/)[0] ?? '')
  return value === undefined ? undefined : {name, labels, value}
}

function parseValue(text: string): number | undefined {
  if (text === '+Inf') return Number.POSITIVE_INFINITY
  if (text === '-Inf') return Number.NEGATIVE_INFINITY
  if (text === 'NaN') return Number.NaN
  const v = Number(text)
  return text === '' || Number.isNaN(v) ? undefined : v
}
