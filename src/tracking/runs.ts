import {randomBytes} from 'node:crypto'
import {type FileHandle, lstat, mkdir, open, readdir, rm} from 'node:fs/promises'
import {hostname} from 'node:os'
import {join} from 'node:path'
import {integrityError, notFound} from '../errors.js'
import {makeDirs, withPath, writeFileAtomic} from '../store/atomic.js'
import {assertNotLink, readStoreText} from '../store/files.js'
import {isSafeId, type StorePaths} from '../store/paths.js'
import type {EpochMetrics} from '../training/types.js'
import type {RunEvent, RunRecord} from './types.js'

/**
 * Run folders. An id is problem + UTC time + random suffix, and the folder is created with
 * an exclusive mkdir, so two runs started in the same second (a sweep, parallel CI jobs)
 * can never share one. run.json is always replaced atomically; the two .jsonl files are
 * appended one whole line per write, and readers skip a torn last line.
 *
 * A run keeps a little disk space in reserve (`.reserve`, removed when the run ends), so that
 * a run that dies of a full disk can still record that it failed.
 */

const RESERVE_FILE = '.reserve'
/** Room for run.json's temp copy and the last status line, with a margin: a few pages. */
const RESERVE_BYTES = 64 * 1024

export function newRunId(problem: string, now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)
  const safe = problem.replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 64) || 'run'
  return `${safe}-${stamp}-${randomBytes(3).toString('hex')}`
}

export async function createRunDir(paths: StorePaths, problem: string): Promise<{id: string; dir: string}> {
  await makeDirs(paths.runsDir)
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
  /** A .jsonl write failed part-way: the next line starts on a line of its own. */
  private readonly torn = new Set<FileHandle>()
  private readonly files = new Map<FileHandle, string>()

  constructor(dir: string) {
    this.dir = dir
  }

  /**
   * Opens the run's files, sets the reserve aside and writes the first record. If any of that
   * fails (a full disk, a read-only store) the folder is removed again: no run folder without
   * a run.json, which `runs list` could not show.
   */
  async start(record: RunRecord): Promise<void> {
    try {
      this.metrics = await open(join(this.dir, 'metrics.jsonl'), 'a')
      this.events = await open(join(this.dir, 'events.jsonl'), 'a')
      this.files.set(this.metrics, join(this.dir, 'metrics.jsonl'))
      this.files.set(this.events, join(this.dir, 'events.jsonl'))
      const reservePath = join(this.dir, RESERVE_FILE)
      const reserve = await open(reservePath, 'w')
      try {
        await reserve.write(Buffer.alloc(RESERVE_BYTES))
        await reserve.sync()
      } catch (err) {
        throw withPath(err, reservePath)
      } finally {
        await reserve.close()
      }
      await this.record(record)
    } catch (err) {
      await this.close().catch(() => {})
      await rm(this.dir, {recursive: true, force: true}).catch(() => {})
      throw err
    }
  }

  /** Replaces run.json; out of space, it gives up the reserve and tries once more. */
  async record(record: RunRecord): Promise<void> {
    const write = () => writeFileAtomic(join(this.dir, 'run.json'), `${JSON.stringify(record, null, 2)}\n`)
    try {
      await write()
    } catch (err) {
      if (!isOutOfSpace(err) || !(await this.releaseReserve())) throw err
      await write()
    }
  }

  async epoch(metrics: EpochMetrics): Promise<void> {
    await this.append(this.metrics, metrics)
  }

  async event(event: RunEvent): Promise<void> {
    await this.append(this.events, event)
  }

  private async append(handle: FileHandle | undefined, value: unknown): Promise<void> {
    if (!handle) return
    const line = `${this.torn.has(handle) ? '\n' : ''}${JSON.stringify(value)}\n`
    try {
      await handle.write(line)
      this.torn.delete(handle)
    } catch (err) {
      this.torn.add(handle)
      throw withPath(err, this.files.get(handle) ?? this.dir)
    }
  }

  private async releaseReserve(): Promise<boolean> {
    const file = join(this.dir, RESERVE_FILE)
    const had = await lstat(file).then(
      () => true,
      () => false,
    )
    await rm(file, {force: true})
    return had
  }

  async close(): Promise<void> {
    await this.metrics?.sync().catch(() => {})
    await this.events?.sync().catch(() => {})
    await this.metrics?.close()
    await this.events?.close()
    this.metrics = undefined
    this.events = undefined
    await rm(join(this.dir, RESERVE_FILE), {force: true}).catch(() => {})
  }
}

function isOutOfSpace(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code
  return code === 'ENOSPC' || code === 'EDQUOT'
}

export function processInfo(): {pid: number; host: string} {
  return {pid: process.pid, host: hostname()}
}

export async function readRunRecord(paths: StorePaths, id: string): Promise<RunRecord> {
  const file = paths.runFile(id, 'run.json')
  let text: string
  try {
    await assertNotLink(paths.runDir(id))
    text = await readStoreText(file)
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
    text = await readStoreText(path)
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
