import {randomBytes} from 'node:crypto'
import {type FileHandle, mkdir, open, readdir, readFile} from 'node:fs/promises'
import {hostname} from 'node:os'
import {join} from 'node:path'
import {integrityError, notFound} from '../errors.js'
import {writeFileAtomic} from '../store/atomic.js'
import {isSafeId, type StorePaths} from '../store/paths.js'
import type {EpochMetrics} from '../training/types.js'
import type {RunEvent, RunRecord} from './types.js'

/**
 * Run folders. An id is problem + UTC time + random suffix, and the folder is created with
 * an exclusive mkdir, so two runs started in the same second (a sweep, parallel CI jobs)
 * can never share one. run.json is always replaced atomically; the two .jsonl files are
 * appended one whole line per write, and readers skip a torn last line.
 */

export function newRunId(problem: string, now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)
  const safe = problem.replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 64) || 'run'
  return `${safe}-${stamp}-${randomBytes(3).toString('hex')}`
}

export async function createRunDir(paths: StorePaths, problem: string): Promise<{id: string; dir: string}> {
  await mkdir(paths.runsDir, {recursive: true})
  for (let attempt = 0; ; attempt++) {
    const id = newRunId(problem)
    const dir = paths.runDir(id)
    try {
      await mkdir(dir)
      return {id, dir}
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 20) throw err
    }
  }
}

export class RunWriter {
  readonly dir: string
  private metrics?: FileHandle
  private events?: FileHandle

  constructor(dir: string) {
    this.dir = dir
  }

  async open(): Promise<void> {
    this.metrics = await open(join(this.dir, 'metrics.jsonl'), 'a')
    this.events = await open(join(this.dir, 'events.jsonl'), 'a')
  }

  async record(record: RunRecord): Promise<void> {
    await writeFileAtomic(join(this.dir, 'run.json'), `${JSON.stringify(record, null, 2)}\n`)
  }

  async epoch(metrics: EpochMetrics): Promise<void> {
    await this.metrics?.write(`${JSON.stringify(metrics)}\n`)
  }

  async event(event: RunEvent): Promise<void> {
    await this.events?.write(`${JSON.stringify(event)}\n`)
  }

  async close(): Promise<void> {
    await this.metrics?.sync().catch(() => {})
    await this.events?.sync().catch(() => {})
    await this.metrics?.close()
    await this.events?.close()
    this.metrics = undefined
    this.events = undefined
  }
}

export function processInfo(): {pid: number; host: string} {
  return {pid: process.pid, host: hostname()}
}

export async function readRunRecord(paths: StorePaths, id: string): Promise<RunRecord> {
  const file = paths.runFile(id, 'run.json')
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw notFound(`No run "${id}" in ${paths.runsDir}`, {
        hint: 'List runs with `morpho runs list`.',
        details: {run: id},
      })
    }
    throw err
  }
  try {
    return withLiveness(JSON.parse(text) as RunRecord)
  } catch (err) {
    throw integrityError(`${file} is not valid JSON`, {hint: 'The run record is damaged; train again.', cause: err})
  }
}

export interface RunDetails {
  record: RunRecord
  metrics: EpochMetrics[]
  events: RunEvent[]
}

export async function readRun(paths: StorePaths, id: string): Promise<RunDetails> {
  const record = await readRunRecord(paths, id)
  return {
    record,
    metrics: await readJsonl<EpochMetrics>(paths.runFile(id, 'metrics.jsonl')),
    events: await readJsonl<RunEvent>(paths.runFile(id, 'events.jsonl')),
  }
}

/** Every run, newest first; folders without a readable run.json are skipped. */
export async function listRuns(paths: StorePaths): Promise<RunRecord[]> {
  let names: string[]
  try {
    names = await readdir(paths.runsDir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
  const records = await Promise.all(names.filter(isSafeId).map((id) => readRunRecord(paths, id).catch(() => undefined)))
  return records
    .filter((r): r is RunRecord => r !== undefined)
    .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? 1 : -1))
}

async function readJsonl<T>(path: string): Promise<T[]> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
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

/** A 'running' record whose process is gone (on this host) is reported as abandoned. */
function withLiveness(record: RunRecord): RunRecord {
  if (record.status !== 'running' || !record.pid || record.host !== processInfo().host) return record
  try {
    process.kill(record.pid, 0)
    return record
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EPERM') return record
    return {...record, status: 'abandoned' as RunRecord['status']}
  }
}
