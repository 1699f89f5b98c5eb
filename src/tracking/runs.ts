import {randomBytes} from 'node:crypto'
import {hostname} from 'node:os'
import {integrityError} from '../errors.js'
import {isAlive} from '../runtime.js'
import type {RunRecord} from './types.js'

export type {RunDetails, RunListing, RunWriter} from '../store/store.js'

/**
 * What every store shares about runs: the id (problem + UTC time + random suffix; each store
 * also refuses an id it already has, so two runs started in the same second never share one),
 * and the one reader of a run record, which every caller (runs list/show, register, the page)
 * goes through, whichever store it came from.
 */

export function newRunId(problem: string, now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)
  const safe = problem.replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 64) || 'run'
  return `${safe}-${stamp}-${randomBytes(3).toString('hex')}`
}

export function processInfo(): {pid: number; host: string} {
  return {pid: process.pid, host: hostname()}
}

/**
 * run.json's text as a record: valid JSON, and the fields every view relies on, checked so a
 * hand-edited or foreign file is reported by name (INTEGRITY); a 'running' record whose process
 * is gone (on this host) reads as abandoned. `where` names the record in the error.
 */
export function parseRunRecord(text: string, where: string): RunRecord {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    throw integrityError(`${where} is not valid JSON`, {hint: 'The run record is damaged; train again.', cause: err})
  }
  return withLiveness(checkRecord(parsed as RunRecord))
}

/** The fields of a run record that every view relies on; a bad one is reported by name. */
export function checkRecord(record: RunRecord): RunRecord {
  const r = record as unknown as Record<string, unknown> | null
  const problems: string[] = []
  if (typeof r !== 'object' || r === null || Array.isArray(r)) throw damaged('run.json is not an object')
  for (const key of ['id', 'status', 'problem', 'createdAt'] as const) {
    if (typeof r[key] !== 'string') problems.push(`${key} is not a string`)
  }
  if (typeof r.params !== 'object' || r.params === null) problems.push('params is not an object')
  if (problems.length > 0) throw damaged(`run.json is damaged: ${problems.join(', ')}`)
  return record
}

function damaged(message: string) {
  return integrityError(message, {hint: 'The run record was edited or written by another tool; train again.'})
}

/** One JSON value per line; a torn last line (a killed writer) is skipped, every line before it kept. */
export function parseJsonl<T>(text: string): T[] {
  const out: T[] = []
  for (const line of text.split('\n')) {
    if (!line.trim()) continue
    try {
      out.push(JSON.parse(line) as T)
    } catch {
      // A torn last line from a killed process; every complete line before it is kept.
    }
  }
  return out
}

/** Newest first; runs created in the same millisecond by id, for a stable order. */
export function newestRunFirst(a: RunRecord, b: RunRecord): number {
  return a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? 1 : -1
}

/** A 'running' record whose process is gone (on this host) is reported as abandoned. */
function withLiveness(record: RunRecord): RunRecord {
  if (record.status !== 'running' || !record.pid || record.host !== processInfo().host) return record
  return isAlive(record.pid) ? record : {...record, status: 'abandoned' as RunRecord['status']}
}
