import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {Dataset} from '../../src/data/index.js'
import {isMorphoError, type MorphoError} from '../../src/errors.js'

/** Runs fn and returns the MorphoError it throws (fails the test if it throws nothing else). */
export function errorOf(fn: () => unknown): MorphoError {
  try {
    fn()
  } catch (err) {
    if (isMorphoError(err)) return err
    throw err
  }
  throw new Error('expected a MorphoError, nothing was thrown')
}

export async function asyncErrorOf(fn: () => Promise<unknown>): Promise<MorphoError> {
  try {
    await fn()
  } catch (err) {
    if (isMorphoError(err)) return err
    throw err
  }
  throw new Error('expected a MorphoError, nothing was thrown')
}

export function row(ds: Dataset, i: number): number[] {
  return Array.from(ds.x.subarray(i * ds.features, (i + 1) * ds.features))
}

/** The rows whose class index is `cls`. */
export function rowsOf(ds: Dataset, cls: number): number[][] {
  const out: number[][] = []
  for (let i = 0; i < ds.n; i++) if (ds.y[i] === cls) out.push(row(ds, i))
  return out
}

export function column(ds: Dataset, j: number): number[] {
  return Array.from({length: ds.n}, (_, i) => ds.x[i * ds.features + j]!)
}

export function mean(values: ArrayLike<number>): number {
  let sum = 0
  for (let i = 0; i < values.length; i++) sum += values[i]!
  return sum / values.length
}

export function std(values: ArrayLike<number>): number {
  const m = mean(values)
  let sum = 0
  for (let i = 0; i < values.length; i++) sum += (values[i]! - m) ** 2
  return Math.sqrt(sum / values.length)
}

export function countClasses(ds: Dataset): number[] {
  const counts = ds.classes.map(() => 0)
  for (const c of ds.y) counts[c]!++
  return counts
}

export function bytes(array: ArrayBufferView): Buffer {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength)
}

/** A real temp folder for CSV files, removed by cleanup(). */
export async function tempFolder(): Promise<{
  path: string
  write: (name: string, text: string) => Promise<string>
  cleanup: () => Promise<void>
}> {
  const path = await mkdtemp(join(tmpdir(), 'morpho-data-'))
  return {
    path,
    write: async (name, text) => {
      const file = join(path, name)
      await writeFile(file, text)
      return file
    },
    cleanup: () => rm(path, {recursive: true, force: true}),
  }
}
