import {createHash} from 'node:crypto'
import {constants} from 'node:fs'
import {type FileHandle, open} from 'node:fs/promises'
import {resolve} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {invalidData, MorphoError} from '../errors.js'
import {printable} from '../text.js'
import {type ClassLabels, type Dataset, indexLabels} from './datasets.js'

/**
 * The user's own data for `--data file.csv`: rows of `feature..., label`, comma-separated.
 * - `#` comment lines and blank lines are skipped; whitespace around cells is trimmed.
 * - The first row is a header when any of its feature cells is not a number.
 * - Labels are integers (0/1/2, 3/7, -1/1, ...), classes their sorted distinct values; or text
 *   (cat/dog, "setosa"), classes the distinct labels sorted by code unit, so the order depends
 *   on the labels alone, never on the order of the rows. A column of numbers that are not all
 *   integers is refused: it reads as a measurement, not a class. A label, like a header's
 *   column name, is at most MAX_NAME_CHARS characters without control characters; a file has
 *   at most MAX_CLASSES classes.
 * Every error names the file and the 1-based line number as an editor shows it (header,
 * comments and blank lines counted), and the offending value.
 *
 * The file is streamed, never read whole: its size, its longest line and its rows are
 * bounded (`CsvLimits`, the --max-data-bytes, --max-line-bytes and --max-rows flags), so a
 * device such as /dev/zero or a huge file without a newline stops at a limit at once, with
 * memory for one chunk and one line.
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
const EXAMPLE_HINT = 'Each row is numeric features followed by a label, e.g. "0.5,1.2,0" or "0.5,1.2,cat".'
const LABEL_HINT =
  'The last column is the class label: a whole number such as 0, 1 or 2, or a name such as cat (a column of measurements is not a class label).'

/** Longest text label or column name, in characters: a name, not a sentence. */
export const MAX_NAME_CHARS = 100
/** Most distinct labels a file may have. */
export const MAX_CLASSES = 1000
// Characters a label or a column name may not hold: C0 and C1 controls, DEL, the line and
// paragraph separators and the bidirectional controls, which a terminal or a page would obey.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u

export interface CsvLimits {
  /** Most bytes read. */
  bytes: number
  /** Longest line, in bytes. */
  lineBytes: number
  /** Most data rows (header, comments and blank lines not counted). */
  rows: number
}

const CHUNK_BYTES = 256 * 1024
const PIPE_POLL_MS = 20
const NEWLINE = 0x0a

export async function loadCsv(
  path: string,
  limits: CsvLimits = {
    bytes: Number.POSITIVE_INFINITY,
    lineBytes: Number.POSITIVE_INFINITY,
    rows: Number.POSITIVE_INFINITY,
  },
  signal?: AbortSignal,
): Promise<CsvDataset> {
  let handle: FileHandle
  let fifo = false
  try {
    // Non-blocking, so that a pipe without data makes read() say so (EAGAIN) instead of holding
    // a thread that an interrupted process could not exit past; files and devices are unaffected.
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK)
  } catch (err) {
    throw unreadable(path, err)
  }
  try {
    const info = await handle.stat()
    // Reading a folder fails only at the first read, with EISDIR; say so before.
    if (info.isDirectory()) throw unreadable(path, Object.assign(new Error('is a directory'), {code: 'EISDIR'}))
    if (info.isFile() && info.size > limits.bytes) throw tooLarge(path, limits, info.size)
    fifo = info.isFIFO()
  } catch (err) {
    await handle.close()
    throw err instanceof MorphoError ? err : unreadable(path, err)
  }
  const hash = createHash('sha256')
  const parser = new CsvParser(path, limits)
  try {
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES)
    // The unfinished line carried over from the previous chunk.
    let carry: Buffer = Buffer.alloc(0)
    let total = 0
    let lineNo = 0
    for (;;) {
      if (signal?.aborted) throw interrupted(path, lineNo)
      const bytesRead = await readChunk(handle, buffer, path)
      // Opened without blocking, a named pipe reads as ended until its writer opens it.
      if (bytesRead === undefined || (bytesRead === 0 && fifo && total === 0)) {
        await sleep(PIPE_POLL_MS)
        continue
      }
      if (bytesRead === 0) break
      total += bytesRead
      if (total > limits.bytes) throw tooLarge(path, limits, total, true)
      const chunk = buffer.subarray(0, bytesRead)
      hash.update(chunk)
      let from = 0
      for (let nl = chunk.indexOf(NEWLINE, from); nl !== -1; nl = chunk.indexOf(NEWLINE, from)) {
        const line = carry.length > 0 ? Buffer.concat([carry, chunk.subarray(from, nl)]) : chunk.subarray(from, nl)
        carry = Buffer.alloc(0)
        lineNo++
        if (line.length > limits.lineBytes) throw lineTooLong(path, limits, lineNo, line.length)
        parser.line(line.toString('utf8'), lineNo)
        from = nl + 1
      }
      if (carry.length + bytesRead - from > limits.lineBytes) {
        throw lineTooLong(path, limits, lineNo + 1, carry.length + bytesRead - from)
      }
      // Copied: the read buffer is reused for the next chunk.
      carry = Buffer.concat([carry, chunk.subarray(from)])
    }
    if (carry.length > 0) parser.line(carry.toString('utf8'), lineNo + 1)
  } finally {
    await handle.close()
  }
  return {...parser.finish(), sha256: hash.digest('hex'), path: resolve(path)}
}

/** Bytes read into `buffer`, 0 at the end, undefined when a pipe has nothing yet. */
async function readChunk(handle: FileHandle, buffer: Buffer, path: string): Promise<number | undefined> {
  try {
    return (await handle.read(buffer, 0, buffer.length, null)).bytesRead
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return undefined
    throw unreadable(path, err)
  }
}

function unreadable(path: string, err: unknown): MorphoError {
  const code = (err as NodeJS.ErrnoException).code
  const what = code === 'ENOENT' ? 'not found' : code === 'EISDIR' ? 'is a folder, not a file' : 'cannot be read'
  return invalidData(`Data file ${what}: ${path}`, {
    hint:
      code === 'ENOENT'
        ? `Check the path given to --data (relative paths start from ${process.cwd()}).`
        : 'Pass a readable CSV file to --data.',
    details: {path: resolve(path), errno: code},
    cause: err,
  })
}

function tooLarge(path: string, limits: CsvLimits, size: number, streaming = false): MorphoError {
  return invalidData(
    `${path}: ${streaming ? 'more than' : 'the file is'} ${streaming ? limits.bytes : size} bytes, above the --max-data-bytes limit of ${limits.bytes}`,
    {
      hint: `Pass --max-data-bytes with a larger number if the file is meant to be this big${streaming ? ' (it is not a regular file: a device or pipe may never end)' : ''}.`,
      details: {path: resolve(path), limit: limits.bytes, flag: 'max-data-bytes', ...(streaming ? {} : {size})},
    },
  )
}

function lineTooLong(path: string, limits: CsvLimits, line: number, bytes: number): MorphoError {
  return invalidData(
    `${path}: line ${line} is longer than the --max-line-bytes limit of ${limits.lineBytes} bytes (${bytes} so far)`,
    {
      hint: 'A CSV row is one line of features and a label; pass --max-line-bytes with a larger number for wider rows.',
      details: {path: resolve(path), line, limit: limits.lineBytes, flag: 'max-line-bytes'},
    },
  )
}

function interrupted(path: string, line: number): MorphoError {
  return new MorphoError('INTERRUPTED', `Interrupted while reading ${path} (at line ${line}); no run was started`, {
    details: {path: resolve(path), line},
  })
}

/** Parses CSV text; `source` names the file in error messages. */
export function parseCsv(text: string, source: string): Dataset & {header?: string[]} {
  const parser = new CsvParser(source)
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) parser.line(lines[i]!, i + 1)
  return parser.finish()
}

/** Rows of floats, grown by doubling instead of held as a list of JavaScript numbers. */
class FloatColumn {
  values = new Float32Array(1024)
  length = 0

  push(value: number): void {
    if (this.length === this.values.length) {
      const grown = new Float32Array(this.values.length * 2)
      grown.set(this.values)
      this.values = grown
    }
    this.values[this.length++] = value
  }

  take(): Float32Array {
    return this.values.slice(0, this.length)
  }
}

/** Takes the lines of a CSV file one at a time (1-based numbers) and builds the dataset. */
class CsvParser {
  private readonly features = new FloatColumn()
  /** Each row's label, as an index into `labelTexts`. */
  private readonly labels: number[] = []
  /** The distinct label cells in the order they first appear, and the line each first appears on. */
  private readonly labelTexts: string[] = []
  private readonly labelLines: number[] = []
  private readonly labelIndex = new Map<string, number>()
  private header?: string[]
  private width = 0
  private firstLine = 0
  private rows = 0

  constructor(
    private readonly source: string,
    private readonly limits: Pick<CsvLimits, 'rows'> = {rows: Number.POSITIVE_INFINITY},
  ) {}

  private fail(message: string, details: Record<string, unknown> = {}, hint = EXAMPLE_HINT): MorphoError {
    return invalidData(`${this.source}: ${message}`, {hint, details: {path: this.source, ...details}})
  }

  line(text: string, line: number): void {
    let raw = line === 1 ? text.replace(/^\uFEFF/, '') : text
    if (raw.endsWith('\r')) raw = raw.slice(0, -1)
    const trimmed = raw.trim()
    if (trimmed === '' || trimmed.startsWith('#')) return
    const cells = raw.split(',').map((cell) => cell.trim())
    const {width} = this

    if (this.firstLine === 0) {
      this.firstLine = line
      this.width = cells.length
      if (cells.length < 2) {
        throw this.fail(`line ${line} has 1 cell; a row needs at least one feature column and a label column`, {line})
      }
      if (cells.slice(0, -1).some((cell) => !NUMBER.test(cell) && !NOT_FINITE.test(cell))) {
        this.header = cells.map((cell, i) => this.name(unquote(cell), line, i + 1, 'column name'))
        return
      }
    } else if (cells.length !== width) {
      throw this.fail(
        `line ${line} has ${cells.length} cell${cells.length === 1 ? '' : 's'}, expected ${width} like line ${this.firstLine}`,
        {line, cells: cells.length, expected: width},
      )
    }
    if (this.rows >= this.limits.rows) {
      throw this.fail(
        `more than ${this.limits.rows} data rows (line ${line}), above the --max-rows limit`,
        {line, limit: this.limits.rows, flag: 'max-rows'},
        'Pass --max-rows with a larger number if the file is meant to have this many rows.',
      )
    }

    const n = this.width
    for (let column = 1; column < n; column++) {
      const cell = cells[column - 1]!
      const where = `line ${line}, column ${column}`
      const details = {line, column, value: cell}
      if (!NUMBER.test(cell)) {
        throw this.fail(`${where}: "${cell}" is not ${NOT_FINITE.test(cell) ? 'a finite number' : 'a number'}`, details)
      }
      const value = Number(cell)
      // Features are stored as float32; a value beyond its range would silently become Infinity.
      if (!Number.isFinite(Math.fround(value))) {
        throw this.fail(`${where}: "${cell}" is not a finite number in 32-bit floating point`, details)
      }
      this.features.push(value)
    }
    this.labels.push(this.label(unquote(cells[n - 1]!), line, n))
    this.rows++
  }

  finish(): Dataset & {header?: string[]} {
    const {rows, source} = this
    if (this.firstLine === 0) {
      throw this.fail('the file is empty (no rows besides comments and blank lines)')
    }
    if (rows < 2) {
      throw this.fail(`has ${rows} data row${rows === 1 ? '' : 's'}; at least 2 are needed`, {rows})
    }
    const {y, classes} = this.classes()
    if (classes.length < 2) {
      throw invalidData(`only one class (label ${String(classes[0])}) in ${source}; a classifier needs at least 2`, {
        hint: 'The last column is the label: add rows of at least one other class.',
        details: {path: source, classes},
      })
    }
    const dataset: Dataset & {header?: string[]} = {
      x: this.features.take(),
      y,
      n: rows,
      features: this.width - 1,
      classes,
      problem: 'csv',
    }
    if (this.header !== undefined) dataset.header = this.header
    return dataset
  }

  /** A label cell as the index of its text among the distinct labels; refused when it cannot be a class label. */
  private label(cell: string, line: number, column: number): number {
    const known = this.labelIndex.get(cell)
    if (known !== undefined) return known
    if (cell === '')
      throw this.fail(`line ${line}, column ${column}: the label is empty`, {line, column, value: cell}, LABEL_HINT)
    this.name(cell, line, column, 'label')
    if (this.labelTexts.length === MAX_CLASSES) {
      throw this.fail(
        `line ${line}, column ${column}: label "${cell}" would be class ${MAX_CLASSES + 1}; a file has at most ${MAX_CLASSES} classes`,
        {line, column, value: cell, limit: MAX_CLASSES},
        'The last column is the class label; a column with a different value on almost every row is not one.',
      )
    }
    this.labelIndex.set(cell, this.labelTexts.length)
    this.labelTexts.push(cell)
    this.labelLines.push(line)
    return this.labelTexts.length - 1
  }

  /** A label or a header's column name, refused when a terminal or a page could not show it as it is. */
  private name(text: string, line: number, column: number, what: 'label' | 'column name'): string {
    const where = `line ${line}, column ${column}`
    const hint = what === 'label' ? LABEL_HINT : 'A header row names the columns: short names such as width or species.'
    if (CONTROL.test(text)) {
      const value = printable(text)
      throw this.fail(`${where}: ${what} "${value}" holds a control character`, {line, column, value}, hint)
    }
    const chars = [...text].length
    if (chars > MAX_NAME_CHARS) {
      throw this.fail(
        `${where}: ${what} "${[...text].slice(0, 40).join('')}…" is ${chars} characters long; at most ${MAX_NAME_CHARS} are allowed`,
        {line, column, value: text, chars, limit: MAX_NAME_CHARS},
        hint,
      )
    }
    return text
  }

  /**
   * A first row whose label alone is text, above rows of integer labels, is a header whose
   * feature names are numbers ("1,2,label"), not a class of one row: refused, saying so.
   */
  private refuseNumberedHeader(): void {
    const texts = this.labelTexts
    const words = texts.filter((t) => !NUMBER.test(t) || !Number.isSafeInteger(Number(t)))
    if (words.length !== 1 || this.labelLines[texts.indexOf(words[0]!)] !== this.firstLine) return
    const word = texts.indexOf(words[0]!)
    if (this.labels.filter((i) => i === word).length !== 1) return
    throw this.fail(
      `line ${this.firstLine}, column ${this.width}: label "${words[0]}" is text while every other label is an integer; is line ${this.firstLine} a header?`,
      {line: this.firstLine, column: this.width, value: words[0]},
      'A header row is recognised by a feature column name that is not a number: rename a column (e.g. x1,x2,label), or remove the row.',
    )
  }

  /**
   * The classes: integers when every label is one (sorted by value: 1 and 01 are one class), else
   * the labels as text (sorted by code unit); a column of numbers that are not all integers is refused.
   */
  private classes(): {y: Int32Array; classes: ClassLabels} {
    const texts = this.labelTexts
    if (texts.every((t) => NUMBER.test(t))) {
      const bad = texts.findIndex((t) => !Number.isSafeInteger(Number(t)))
      if (bad >= 0) {
        const line = this.labelLines[bad]!
        throw this.fail(
          `line ${line}, column ${this.width}: label "${texts[bad]}" is not an integer`,
          {line, column: this.width, value: texts[bad]},
          LABEL_HINT,
        )
      }
      const values = texts.map(Number)
      return indexLabels(Float64Array.from(this.labels, (i) => values[i]!))
    }
    this.refuseNumberedHeader()
    const classes = [...texts].sort()
    const position = new Map(classes.map((label, i) => [label, i]))
    const index = texts.map((t) => position.get(t)!)
    return {y: Int32Array.from(this.labels, (i) => index[i]!), classes}
  }
}

/** A cell without the double quotes around it, as a header's names and text labels may be written. */
function unquote(cell: string): string {
  return cell.length >= 2 && cell.startsWith('"') && cell.endsWith('"') ? cell.slice(1, -1) : cell
}
