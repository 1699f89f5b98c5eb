import {request} from 'undici'
import {invalidData, MorphoError, notFound, usageError} from '../errors.js'
import {DEFAULT_URL} from './options.js'

/**
 * The HTTP side of `morpho predict --url` and `morpho health`: small undici calls with a
 * deadline, and the server's answers turned into morpho's errors and exit codes.
 */

export {DEFAULT_URL} from './options.js'

export interface PredictResult {
  /** Each row's class label: an integer, or the text label of a model trained on CSV text labels. */
  predictions: (number | string)[]
  probabilities: number[][]
  model_version: string
  model_name?: string
  /** The version's stage and its class labels, where the answer knows them. */
  model_stage?: string | null
  classes?: (number | string)[]
  inference_time_ms: number
  /** Where the prediction was computed. */
  source: 'server' | 'registry' | 'file'
  /** `predict --model-file`: the exported model that answered, and the runtime that ran it. */
  model_file?: {path: string; format: 'onnx' | 'tfjs'; runtime: string}
}

export interface HealthBody {
  status: string
  model_loaded: boolean
  model_name: string | null
  model_version: string | null
  model_stage?: string | null
  timestamp: string
  reason?: string
}

export interface HealthResult {
  url: string
  /** The server answered 200 with a model loaded. */
  healthy: boolean
  /** HTTP status, or null when there was no answer. */
  status: number | null
  body: HealthBody | null
  /** Why it is not healthy. */
  problem?: string
}

export function baseUrl(text: string): URL {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw usageError(`Invalid --url "${text}"`, {hint: `Give the server's address, e.g. ${DEFAULT_URL}.`})
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw usageError(`--url must be http:// or https://; got ${url.protocol}`, {hint: `For example ${DEFAULT_URL}.`})
  }
  if (!url.pathname.endsWith('/')) url.pathname += '/'
  return url
}

export async function predictRemote(
  url: string,
  rows: unknown,
  options: {modelVersion?: string; timeoutMs?: number} = {},
): Promise<PredictResult> {
  const endpoint = new URL('predict', baseUrl(url))
  const body = JSON.stringify({data: rows, ...(options.modelVersion ? {model_version: options.modelVersion} : {})})
  let res: Awaited<ReturnType<typeof request>>
  try {
    res = await request(endpoint, {
      method: 'POST',
      headers: {'content-type': 'application/json'},
      body,
      signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
    })
  } catch (err) {
    throw unreachable(endpoint, err)
  }
  const text = await res.body.text()
  const json = parseAnswer(text)
  if (res.statusCode === 200) {
    const answer = json as Omit<PredictResult, 'source'> | undefined
    if (!answer || !Array.isArray(answer.predictions)) {
      throw new MorphoError('INTERNAL', `${endpoint} answered 200 without predictions: ${text.slice(0, 200)}`)
    }
    // /predict answers with the version only (the original's shape); /health names the model.
    const health = await checkHealth(url, {timeoutMs: options.timeoutMs})
    const same = health.body?.model_version === answer.model_version
    return {
      ...answer,
      ...(health.body?.model_name ? {model_name: health.body.model_name} : {}),
      ...(same ? {model_stage: health.body?.model_stage ?? null} : {}),
      source: 'server',
    }
  }
  const message = (json as {error?: string} | undefined)?.error ?? text.slice(0, 200)
  const what = `${endpoint} answered ${res.statusCode}: ${message}`
  if (res.statusCode === 404) throw notFound(what, {details: {status: res.statusCode}})
  if (res.statusCode >= 400 && res.statusCode < 500) throw invalidData(what, {details: {status: res.statusCode}})
  throw new MorphoError('INTERNAL', what, {details: {status: res.statusCode}})
}

export async function checkHealth(url: string, options: {timeoutMs?: number} = {}): Promise<HealthResult> {
  const endpoint = new URL('health', baseUrl(url))
  const where = endpoint.toString()
  try {
    const res = await request(endpoint, {method: 'GET', signal: AbortSignal.timeout(options.timeoutMs ?? 5000)})
    const text = await res.body.text()
    const body = parseAnswer(text) as HealthBody | undefined
    if (!body || typeof body.model_loaded !== 'boolean') {
      return {
        url: where,
        healthy: false,
        status: res.statusCode,
        body: body ?? null,
        problem: `answered ${res.statusCode}${body?.status ? ` (${body.status})` : ''}`,
      }
    }
    // A server without a model answers 503 with the same body, and says why.
    const healthy = res.statusCode === 200 && body.model_loaded
    return {
      url: where,
      healthy,
      status: res.statusCode,
      body,
      problem: healthy
        ? undefined
        : (body.reason ?? (body.status === 'healthy' ? `answered ${res.statusCode}` : body.status)),
    }
  } catch (err) {
    return {url: where, healthy: false, status: null, body: null, problem: unreachable(endpoint, err).message}
  }
}

/**
 * Asks until the server is healthy or `waitMs` has passed (a server still starting, or waiting
 * for its first model); the last answer says why not. Each ask waits at most `timeoutMs`.
 */
export async function waitForHealth(
  url: string,
  options: {waitMs: number; timeoutMs?: number; intervalMs?: number},
): Promise<HealthResult & {waitedMs: number}> {
  const started = performance.now()
  const deadline = started + options.waitMs
  for (;;) {
    const left = Math.max(1, deadline - performance.now())
    const result = await checkHealth(url, {timeoutMs: Math.min(options.timeoutMs ?? 5000, left)})
    const now = performance.now()
    if (result.healthy || now >= deadline) return {...result, waitedMs: Math.round(now - started)}
    await new Promise((resolve) => setTimeout(resolve, Math.min(options.intervalMs ?? 250, deadline - now)))
  }
}

function parseAnswer(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

function unreachable(endpoint: URL, err: unknown): MorphoError {
  const e = err as {name?: string; code?: string; message?: string; cause?: {code?: string; message?: string}}
  const reason =
    e?.name === 'TimeoutError' || e?.name === 'AbortError'
      ? 'no answer before the timeout'
      : (e?.code ?? e?.cause?.code ?? e?.message ?? String(err))
  return new MorphoError('INTERNAL', `cannot reach ${endpoint.origin}: ${reason}`, {
    hint: 'Is `morpho serve` running there? Check --url.',
    cause: err,
  })
}
