import {readFile} from 'node:fs/promises'
import {invalidData, usageError} from '../errors.js'
import type {ClassLabel} from '../model/model-file.js'
import {argmaxRows, createJsPredictor} from '../model/predictor.js'
import {decodeModel} from '../model/serialize.js'
import {resolveModel} from '../registry/index.js'
import type {Store} from '../store/store.js'
import type {PredictResult} from './client.js'
import type {ModelTarget} from './model-holder.js'
import {checkProbabilities} from './render.js'
import {ROW_FIELDS, toRows} from './validate.js'

/**
 * `morpho predict`: the rows to predict (from --data, a file or stdin) and, without a server,
 * the prediction straight from the registry. That path verifies the version's checksums and
 * runs the pure-JavaScript forward pass, so it never loads TF.js and starts in milliseconds.
 */

export interface RowsInput {
  data?: string
  file?: string
  stdin?: NodeJS.ReadableStream & {isTTY?: boolean}
}

/** The rows as JSON values; the server (or predictLocal) checks them against the model. */
export async function readRowsInput(input: RowsInput): Promise<unknown[]> {
  if (input.data !== undefined && input.file !== undefined) {
    throw usageError('Give the rows with --data or --file, not both')
  }
  if (input.data !== undefined) return parseRowsText(input.data, '--data')
  if (input.file !== undefined) {
    let text: string
    try {
      text = await readFile(input.file, 'utf8')
    } catch (err) {
      throw invalidData(
        `Cannot read --file ${input.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        {
          cause: err,
        },
      )
    }
    return parseRowsText(text, input.file)
  }
  const stdin = input.stdin ?? process.stdin
  if (stdin.isTTY) {
    throw usageError('No rows to predict', {
      hint: "Give them with --data '[[0.1, 0.2, 0.3]]', --file rows.json|rows.csv, or on stdin.",
    })
  }
  let text = ''
  for await (const chunk of stdin) text += chunk.toString()
  return parseRowsText(text, 'stdin')
}

/**
 * JSON (a list of rows, one row, or {"data"|"instances"|"inputs": rows}) or CSV (one row of
 * features per line; a header line, blank lines and # comments are skipped).
 */
export function parseRowsText(text: string, source: string): unknown[] {
  const trimmed = text.replace(/^\uFEFF/, '').trim()
  if (trimmed === '')
    throw invalidData(`No rows in ${source}`, {hint: 'Give a JSON list of rows or CSV lines of features.'})
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    let value: unknown
    try {
      value = JSON.parse(trimmed)
    } catch (err) {
      throw invalidData(`${source} is not valid JSON: ${(err as Error).message}`, {
        hint: 'JSON has no NaN or Infinity; rows look like [[0.1, 0.2, 0.3], [1, 2, 3]].',
      })
    }
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const record = value as Record<string, unknown>
      const field = ROW_FIELDS.find((f) => Object.hasOwn(record, f))
      if (!field) throw invalidData(`${source} is a JSON object without "data": give a list of rows`)
      value = record[field]
    }
    if (!Array.isArray(value)) throw invalidData(`${source} must hold a list of rows`)
    // One row given bare is one row.
    return value.length > 0 && value.every((v) => typeof v === 'number') ? [value] : value
  }
  return parseCsvRows(trimmed, source)
}

function parseCsvRows(text: string, source: string): number[][] {
  const rows: number[][] = []
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim()
    if (line === '' || line.startsWith('#')) continue
    const cells = line.split(',').map((c) => c.trim())
    const values = cells.map(Number)
    const bad = cells.findIndex((c, j) => c === '' || !Number.isFinite(values[j]!))
    if (bad !== -1) {
      // A first line of names is a header.
      if (rows.length === 0 && cells.some((c) => Number.isNaN(Number(c)))) continue
      throw invalidData(`${source} line ${i + 1}, column ${bad + 1}: "${cells[bad]}" is not a finite number`, {
        hint: 'Each CSV line is the features of one row, comma-separated.',
      })
    }
    rows.push(values)
  }
  if (rows.length === 0) throw invalidData(`No rows in ${source}`)
  return rows
}

/** Predicts from the registry: the version `target` names (default Production), verified. */
export async function predictLocal(store: Store, target: ModelTarget, rows: unknown): Promise<PredictResult> {
  const resolved = await resolveModel(store, {
    model: target.model,
    version: target.version,
    stage: target.version === undefined ? target.stage : undefined,
  })
  const loaded = decodeModel(resolved.files!, `${resolved.name} v${resolved.entry.version}`)
  const predictor = createJsPredictor(loaded)
  const label = `${resolved.name} v${resolved.entry.version}`
  const input = checkRows(rows, predictor.architecture.inputDim, label)
  const started = performance.now()
  const probs = predictor.predictProba(input.rows, input.n)
  const ms = performance.now() - started
  return {
    ...answerRows(probs, input.n, predictor.classes, label),
    model_version: String(resolved.entry.version),
    model_name: resolved.name,
    model_stage: resolved.entry.stage,
    classes: [...predictor.classes],
    inference_time_ms: Math.round(ms * 1000) / 1000,
    source: 'registry',
  }
}

/** The rows as n×inputDim float32 features; bad rows are INVALID_DATA (exit 6), naming the row. */
export function checkRows(rows: unknown, inputDim: number, label: string): {rows: Float32Array; n: number} {
  return toRows(rows, 'data', {inputDim, maxRows: Number.POSITIVE_INFINITY, model: label})
}

/** n×k probabilities as rows, with each row's class label (`classes[argmax]`); non-finite rows are refused. */
export function answerRows(
  probs: Float32Array,
  n: number,
  classes: readonly ClassLabel[],
  label: string,
): Pick<PredictResult, 'predictions' | 'probabilities'> {
  const k = classes.length
  checkProbabilities(probs, n, k, 'data', label)
  const best = argmaxRows(probs, n, k)
  const probabilities: number[][] = []
  for (let r = 0; r < n; r++) probabilities.push(Array.from(probs.subarray(r * k, (r + 1) * k)))
  return {predictions: Array.from(best, (i) => classes[i]!), probabilities}
}
