import {invalidData, MorphoError} from '../errors.js'
import {HttpError} from '../net/http-error.js'

/**
 * Request bodies, checked before anything reaches a model. Every refusal names the field, the
 * position (`data[2][1]`, 0-based as in the JSON) and the value, so a client can fix its request
 * without reading server logs. Rows and tensors are refused with domain errors (INVALID_DATA,
 * TOO_MANY_ROWS), the same for `morpho predict` without a server as for the HTTP endpoints,
 * which answer them with a 400; only what is about the HTTP body itself (its type, its JSON)
 * is an HttpError.
 */

const FLOAT32_MAX = 3.4028234663852886e38

/** `application/json` or any `+json` type, parameters allowed. A missing header is taken as JSON. */
export function checkContentType(header: string | undefined): void {
  if (header === undefined || header === 'application/json') return
  const type = header.split(';', 1)[0]!.trim().toLowerCase()
  if (type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'))) return
  throw new HttpError(
    'UNSUPPORTED_MEDIA_TYPE',
    `content type "${type || header}" is not JSON; send the body as application/json`,
  )
}

export function parseJson(body: Buffer): unknown {
  const text = body.toString('utf8')
  try {
    return JSON.parse(text)
  } catch (err) {
    if (!/\S/.test(text)) throw new HttpError('MALFORMED_JSON', 'the body is empty; send a JSON object')
    // JSON has no NaN or Infinity; say so rather than "unexpected token N".
    if (/(^|[^"\w])-?(NaN|Infinity)\b/.test(text)) {
      throw new HttpError(
        'MALFORMED_JSON',
        'malformed JSON: NaN and Infinity are not JSON numbers; send finite numbers',
      )
    }
    throw new HttpError('MALFORMED_JSON', `malformed JSON: ${(err as Error).message}`)
  }
}

export const ROW_FIELDS = ['data', 'instances', 'inputs'] as const
export type RowField = (typeof ROW_FIELDS)[number]

export interface PredictRequest {
  field: RowField
  value: unknown
  /** As the client wrote it ("3", "v3", an alias); undefined when absent or null. */
  modelVersion?: string
}

/** `{"data": rows, "model_version"?}`; `instances` and `inputs` are accepted as other names for `data`. */
export function readPredictRequest(body: unknown): PredictRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    const hint = Array.isArray(body) ? ' (wrap the rows: {"data": [[...], ...]})' : ''
    throw invalidData(`the body must be a JSON object like {"data": [[...], ...]}; got ${describe(body)}${hint}`)
  }
  const record = body as Record<string, unknown>
  // Checked one by one rather than with a list: this runs for every request.
  let field: RowField | undefined
  let count = 0
  for (const f of ROW_FIELDS) {
    if (Object.hasOwn(record, f)) {
      field ??= f
      count++
    }
  }
  if (field === undefined) {
    throw invalidData('"data" is missing: send {"data": [[feature, ...], ...]} (one list of features per row)')
  }
  if (count > 1) {
    const present = ROW_FIELDS.filter((f) => Object.hasOwn(record, f))
    throw invalidData(`give the rows in one field, not in ${present.map((f) => `"${f}"`).join(' and ')}`)
  }
  return {field, value: record[field], modelVersion: readModelVersion(record.model_version)}
}

function readModelVersion(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 1) return String(value)
  if (typeof value === 'string' && value.trim() !== '') return value.trim()
  throw invalidData(`"model_version" must be a version number or an alias, like "3"; got ${describe(value)}`)
}

export interface Rows {
  /** n × inputDim raw features, row-major. */
  rows: Float32Array
  n: number
}

export interface RowLimits {
  inputDim: number
  maxRows: number
  /** "spirals v3", for messages about the feature count. */
  model: string
}

/** A JSON list of rows, each a list of `inputDim` finite numbers, into one Float32Array. */
export function toRows(value: unknown, field: string, limits: RowLimits): Rows {
  const d = limits.inputDim
  if (!Array.isArray(value)) {
    throw invalidData(`"${field}" must be a list of rows, each a list of ${d} numbers; got ${describe(value)}`)
  }
  const n = value.length
  if (n === 0) throw invalidData(`"${field}" is empty: send at least one row`)
  checkRowCount(n, limits.maxRows)
  const rows = new Float32Array(n * d)
  for (let r = 0; r < n; r++) {
    const row = value[r]
    if (!Array.isArray(row)) {
      if (r === 0 && typeof row === 'number') {
        throw invalidData(
          `"${field}" must be a list of rows, each a list of ${d} numbers; got a list of numbers (one row is [[${exampleRow(d)}]])`,
        )
      }
      throw invalidData(`${field}[${r}] must be a list of ${d} numbers; got ${describe(row)}`)
    }
    if (row.length !== d) throw rowLengthError(field, value, r, row.length, limits)
    const base = r * d
    for (let c = 0; c < d; c++) rows[base + c] = toFeature(row[c], field, r, c)
  }
  return {rows, n}
}

/**
 * An Open Inference Protocol tensor: `data` flat (row-major, n·d values) or nested as rows,
 * `shape` [n, d]. Integer and float datatypes are accepted and read as float32.
 */
export function toTensorRows(
  tensor: {shape: unknown; datatype: unknown; data: unknown},
  where: string,
  limits: RowLimits,
): Rows {
  const d = limits.inputDim
  const {shape, datatype, data} = tensor
  if (typeof datatype !== 'string' || !NUMERIC_TYPES.has(datatype)) {
    throw invalidData(`${where}.datatype must be a numeric type such as "FP32"; got ${describe(datatype)}`)
  }
  if (
    !Array.isArray(shape) ||
    shape.length !== 2 ||
    !shape.every((s) => typeof s === 'number' && Number.isSafeInteger(s) && s >= 0)
  ) {
    throw invalidData(`${where}.shape must be [rows, ${d}]; got ${JSON.stringify(shape) ?? describe(shape)}`)
  }
  const [n, width] = shape as [number, number]
  if (width !== d) throw invalidData(`${where}.shape says ${width} features per row; model ${limits.model} takes ${d}`)
  if (n === 0) throw invalidData(`${where}.shape has 0 rows: send at least one row`)
  checkRowCount(n, limits.maxRows)
  if (!Array.isArray(data)) throw invalidData(`${where}.data must be a list of numbers; got ${describe(data)}`)
  if (data.length > 0 && Array.isArray(data[0])) {
    if (data.length !== n) throw invalidData(`${where}.data has ${data.length} rows; shape [${n}, ${d}] says ${n}`)
    return toRows(data, `${where}.data`, limits)
  }
  if (data.length !== n * d) {
    throw invalidData(`${where}.data has ${data.length} values; shape [${n}, ${d}] needs ${n * d}`)
  }
  const rows = new Float32Array(n * d)
  for (let i = 0; i < data.length; i++) {
    const v = data[i]
    if (typeof v === 'number' && Number.isFinite(v) && Math.abs(v) <= FLOAT32_MAX) rows[i] = v
    else throw valueError(`${where}.data[${i}]`, v)
  }
  return {rows, n}
}

const NUMERIC_TYPES = new Set([
  'FP16',
  'FP32',
  'FP64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
])

function checkRowCount(n: number, maxRows: number): void {
  if (n > maxRows) {
    throw new MorphoError(
      'TOO_MANY_ROWS',
      `${n} rows is more than this server takes in one request (${maxRows}); split the request`,
      {details: {rows: n, maxRows}},
    )
  }
}

function toFeature(v: unknown, field: string, r: number, c: number): number {
  // The common case first: one typeof and two comparisons per value.
  if (typeof v === 'number' && v <= FLOAT32_MAX && v >= -FLOAT32_MAX) return v
  throw valueError(`${field}[${r}][${c}]`, v)
}

function valueError(where: string, v: unknown): MorphoError {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return invalidData(`${where} is ${v}; every feature must be a finite number`)
    return invalidData(`${where} is ${v}, outside the float32 range (±3.4e38)`)
  }
  return invalidData(`${where} is ${describe(v)}, not a number`)
}

function rowLengthError(field: string, rows: unknown[], r: number, length: number, limits: RowLimits): MorphoError {
  const d = limits.inputDim
  const first = rows[0] as unknown[]
  if (r > 0 && Array.isArray(first) && first.length === d) {
    return invalidData(
      `rows differ in length: ${field}[0] has ${d} values, ${field}[${r}] has ${length} (every row needs ${d})`,
    )
  }
  return invalidData(`${field}[${r}] has ${length} features; model ${limits.model} takes ${d}`)
}

function exampleRow(d: number): string {
  return Array.from({length: Math.min(d, 4)}, (_, i) => `x${i + 1}`).join(', ') + (d > 4 ? ', ...' : '')
}

/** A short description of a JSON value for messages: its type, and the value when it is small. */
export function describe(v: unknown): string {
  if (v === null) return 'null'
  if (v === undefined) return 'nothing'
  if (Array.isArray(v)) return v.length === 0 ? 'an empty list' : 'a list'
  switch (typeof v) {
    case 'string':
      return `${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)} (a string)`
    case 'boolean':
      return `${v} (a boolean)`
    case 'number':
      return String(v)
    case 'object':
      return 'an object'
    default:
      return typeof v
  }
}

export const INFER_OUTPUTS = ['probabilities', 'predictions'] as const
export type InferOutput = (typeof INFER_OUTPUTS)[number]

export interface InferRequest extends Rows {
  id?: string
  outputs: InferOutput[]
}

/**
 * An Open Inference Protocol v2 infer request: one input tensor of shape [rows, features];
 * `outputs`, when given, picks among "probabilities" and "predictions".
 */
export function readInferRequest(body: unknown, limits: RowLimits): InferRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw invalidData(`the body must be a JSON object with "inputs"; got ${describe(body)}`)
  }
  const record = body as Record<string, unknown>
  const {inputs, outputs, id} = record
  if (id !== undefined && typeof id !== 'string') throw invalidData(`"id" must be a string; got ${describe(id)}`)
  if (!Array.isArray(inputs) || inputs.length !== 1) {
    throw invalidData(
      `"inputs" must be a list of one tensor {"name", "shape": [rows, ${limits.inputDim}], "datatype": "FP32", "data"}; got ${Array.isArray(inputs) ? `${inputs.length} tensors` : describe(inputs)}`,
    )
  }
  const tensor = inputs[0]
  if (tensor === null || typeof tensor !== 'object' || Array.isArray(tensor)) {
    throw invalidData(`inputs[0] must be a tensor object; got ${describe(tensor)}`)
  }
  const t = tensor as Record<string, unknown>
  const rows = toTensorRows({shape: t.shape, datatype: t.datatype, data: t.data}, 'inputs[0]', limits)
  let wanted: InferOutput[] = [...INFER_OUTPUTS]
  if (outputs !== undefined) {
    if (!Array.isArray(outputs)) throw invalidData(`"outputs" must be a list; got ${describe(outputs)}`)
    wanted = outputs.map((o, i) => {
      const name = (o as {name?: unknown} | null)?.name
      if (typeof name !== 'string' || !(INFER_OUTPUTS as readonly string[]).includes(name)) {
        throw invalidData(
          `outputs[${i}].name must be one of ${INFER_OUTPUTS.map((n) => `"${n}"`).join(', ')}; got ${describe(name)}`,
        )
      }
      return name as InferOutput
    })
  }
  return {...rows, id, outputs: wanted}
}
