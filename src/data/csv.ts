import {createHash} from 'node:crypto'
import {readFile} from 'node:fs/promises'
import {resolve} from 'node:path'
import {invalidData} from '../errors.js'
import {type Dataset, indexLabels} from './datasets.js'

/**
 * The user's own data for `--data file.csv`: rows of `feature..., label`, comma-separated.
 * - `#` comment lines and blank lines are skipped; whitespace around cells is trimmed.
 * - The first row is a header when any of its feature cells is not a number.
 * - Labels are integers (0/1/2, 3/7, -1/1, ...); classes are their sorted distinct values.
 * Every error names the file and the 1-based line number as an editor shows it (header,
 * comments and blank lines counted), and the offending value.
 */

export interface CsvDataset extends Dataset {
  /** sha256 of the file's bytes, hex; recorded with the run so the data can be verified later. */
  sha256: string
  /** Absolute path of the file. */
  path: string
  /** Column names, label column included, when the file has a header row. */
  header?: string[]
}

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/
const NOT_FINITE = /^[+-]?(?:inf|infinity|nan)$/i
const EXAMPLE_HINT = 'Each row is numeric features followed by an integer label, e.g. "0.5,1.2,0".'

export async function loadCsv(path: string): Promise<CsvDataset> {
  let bytes: Buffer
  try {
    bytes = await readFile(path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const what = code === 'ENOENT' ? 'not found' : code === 'EISDIR' ? 'is a folder, not a file' : 'cannot be read'
    throw invalidData(`Data file ${what}: ${path}`, {
      hint:
        code === 'ENOENT'
          ? `Check the path given to --data (relative paths start from ${process.cwd()}).`
          : 'Pass a readable CSV file to --data.',
      details: {path: resolve(path), errno: code},
      cause: err,
    })
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex')
  const parsed = parseCsv(bytes.toString('utf8'), path)
  return {...parsed, sha256, path: resolve(path)}
}

/** Parses CSV text; `source` names the file in error messages. */
export function parseCsv(text: string, source: string): Dataset & {header?: string[]} {
  const lines = text.replace(/^\uFEFF/, '').split('\n')
  const features: number[] = []
  const labels: number[] = []
  let header: string[] | undefined
  let width = 0
  let firstLine = 0
  let rows = 0

  const fail = (message: string, details: Record<string, unknown> = {}, hint = EXAMPLE_HINT) =>
    invalidData(`${source}: ${message}`, {hint, details: {path: source, ...details}})

  for (let i = 0; i < lines.length; i++) {
    const line = i + 1
    const raw = lines[i]!.endsWith('\r') ? lines[i]!.slice(0, -1) : lines[i]!
    const trimmed = raw.trim()
    if (trimmed === '' || trimmed.startsWith('#')) continue
    const cells = raw.split(',').map((cell) => cell.trim())

    if (firstLine === 0) {
      firstLine = line
      width = cells.length
      if (width < 2) {
        throw fail(`line ${line} has 1 cell; a row needs at least one feature column and a label column`, {line})
      }
      if (cells.slice(0, -1).some((cell) => !NUMBER.test(cell) && !NOT_FINITE.test(cell))) {
        header = cells.map((cell) => cell.replace(/^"(.*)"$/, '$1'))
        continue
      }
    } else if (cells.length !== width) {
      throw fail(
        `line ${line} has ${cells.length} cell${cells.length === 1 ? '' : 's'}, expected ${width} like line ${firstLine}`,
        {line, cells: cells.length, expected: width},
      )
    }

    for (let column = 1; column <= width; column++) {
      const cell = cells[column - 1]!
      const where = `line ${line}, column ${column}`
      const details = {line, column, value: cell}
      if (!NUMBER.test(cell)) {
        throw fail(`${where}: "${cell}" is not ${NOT_FINITE.test(cell) ? 'a finite number' : 'a number'}`, details)
      }
      const value = Number(cell)
      if (column < width) {
        // Features are stored as float32; a value beyond its range would silently become Infinity.
        if (!Number.isFinite(Math.fround(value))) {
          throw fail(`${where}: "${cell}" is not a finite number in 32-bit floating point`, details)
        }
        features.push(value)
      } else {
        if (!Number.isSafeInteger(value)) {
          throw fail(
            `${where}: label "${cell}" is not an integer`,
            details,
            'The last column is the class label and must be a whole number such as 0, 1 or 2.',
          )
        }
        labels.push(value)
      }
    }
    rows++
  }

  if (firstLine === 0) {
    throw fail('the file is empty (no rows besides comments and blank lines)')
  }
  if (rows < 2) {
    throw fail(`has ${rows} data row${rows === 1 ? '' : 's'}; at least 2 are needed`, {rows})
  }
  const {y, classes} = indexLabels(labels)
  if (classes.length < 2) {
    throw invalidData(`only one class (label ${classes[0]}) in ${source}; a classifier needs at least 2`, {
      hint: 'The last column is the label: add rows of at least one other class.',
      details: {path: source, classes},
    })
  }
  const dataset: Dataset & {header?: string[]} = {
    x: Float32Array.from(features),
    y,
    n: rows,
    features: width - 1,
    classes,
    problem: 'csv',
  }
  if (header !== undefined) dataset.header = header
  return dataset
}
