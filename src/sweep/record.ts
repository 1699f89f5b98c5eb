import {hostname} from 'node:os'
import {MorphoError, notFound} from '../errors.js'
import type {Store} from '../store/store.js'
import type {TrainSummary} from '../training/types.js'
import type {SweepPlan, SweepValue} from './config.js'
import type {SweepMetric} from './metrics.js'

/**
 * A sweep as the store keeps it (folder: sweeps/<id>.json; database: a row), one document
 * every shard adds its runs to as each finishes, so `sweep report` and `sweeps show` rank the
 * whole grid from any machine, and `--register-best` registers once, when the grid is done.
 */

export interface SweepRun {
  /** Position in the grid (the first axis varies slowest). */
  index: number
  params: Record<string, SweepValue>
  status: 'completed' | 'failed'
  runId?: string
  summary?: TrainSummary
  value?: number
  seconds: number
  error?: {code: string; message: string}
  /** Which shard ran it ("2/4"), when the sweep was sharded. */
  shard?: string
}

export interface SweepDoc {
  id: string
  createdAt: string
  plan: SweepPlan
  metric: SweepMetric
  lowerIsBetter: boolean
  /** Combinations in the grid. */
  total: number
  /** Every finished run of every shard, in grid order. */
  runs: SweepRun[]
  best?: SweepRun
  registered?: {model: string; version: number; runId: string}
  /** The process that took on --register-best, so only one shard does. */
  registering?: {host: string; pid: number; at: string}
}

export interface SweepReport {
  id: string
  metric: SweepMetric
  lowerIsBetter: boolean
  total: number
  /** Combinations with a finished run (completed or failed). */
  done: number
  complete: boolean
  /** Grid indexes without a finished run yet. */
  missing: number[]
  /** Completed runs best first (ties: grid order), then failed runs in grid order. */
  runs: SweepRun[]
  best?: SweepRun
  registered?: {model: string; version: number; runId: string}
}

/** Ranks runs: completed best first, the earlier (simpler) combination taking a tie; failed last. */
export function rank(runs: readonly SweepRun[], lowerIsBetter: boolean): {runs: SweepRun[]; best?: SweepRun} {
  const sign = lowerIsBetter ? 1 : -1
  const completed = runs
    .filter((r) => r.status === 'completed' && r.value !== undefined && Number.isFinite(r.value))
    .sort((a, b) => sign * (a.value! - b.value!) || a.index - b.index)
  const rest = runs.filter((r) => !completed.includes(r)).sort((a, b) => a.index - b.index)
  return {runs: [...completed, ...rest], best: completed[0]}
}

export function reportOf(doc: SweepDoc): SweepReport {
  const done = new Set(doc.runs.map((r) => r.index))
  const missing = Array.from({length: doc.total}, (_, i) => i).filter((i) => !done.has(i))
  const {runs, best} = rank(doc.runs, doc.lowerIsBetter)
  return {
    id: doc.id,
    metric: doc.metric,
    lowerIsBetter: doc.lowerIsBetter,
    total: doc.total,
    done: done.size,
    complete: missing.length === 0,
    missing,
    runs,
    best,
    ...(doc.registered ? {registered: doc.registered} : {}),
  }
}

type Header = Pick<SweepDoc, 'id' | 'plan' | 'metric' | 'lowerIsBetter' | 'total'>

/** Adds finished runs to the sweep's document (created by the first), checking it is the same grid. */
export function recordRuns(store: Store, header: Header, runs: SweepRun[]): Promise<SweepReport> {
  return store.sweeps.update(header.id, async (found) => {
    const doc = (found as SweepDoc | undefined) ?? {...header, createdAt: new Date().toISOString(), runs: []}
    if (
      JSON.stringify([doc.plan, doc.metric, doc.lowerIsBetter, doc.total]) !==
      JSON.stringify([header.plan, header.metric, header.lowerIsBetter, header.total])
    ) {
      throw new MorphoError('CONFLICT', `sweep ${header.id} in the store is another grid`, {
        hint: 'Give every shard of one sweep the same grid and metric, or another --sweep-id.',
        details: {sweepId: header.id},
      })
    }
    const byIndex = new Map(doc.runs.map((r) => [r.index, r]))
    for (const run of runs) byIndex.set(run.index, run)
    doc.runs = [...byIndex.values()].sort((a, b) => a.index - b.index)
    const report = reportOf(doc)
    doc.best = report.best
    return {doc, result: report}
  })
}

/**
 * For --register-best: true for exactly one caller, once the grid is complete and nothing is
 * registered yet (a claim left by a process that died can be taken over after ten minutes).
 */
export function claimRegistration(store: Store, id: string): Promise<SweepReport | undefined> {
  return store.sweeps.update(id, async (found) => {
    const doc = found as SweepDoc
    const report = reportOf(doc)
    const stale = doc.registering && Date.now() - Date.parse(doc.registering.at) > 10 * 60_000
    if (!report.complete || !report.best?.runId || doc.registered || (doc.registering && !stale)) {
      return {doc, result: undefined}
    }
    doc.registering = {host: hostname(), pid: process.pid, at: new Date().toISOString()}
    return {doc, result: report}
  })
}

export function markRegistered(store: Store, id: string, registered: NonNullable<SweepDoc['registered']>) {
  return store.sweeps.update(id, async (found) => {
    const doc = found as SweepDoc
    doc.registered = registered
    delete doc.registering
    return {doc, result: reportOf(doc)}
  })
}

export async function readSweep(store: Store, id: string): Promise<SweepDoc> {
  const doc = (await store.sweeps.get(id)) as SweepDoc | undefined
  if (!doc) {
    throw notFound(`no sweep "${id}" in ${store.location}`, {
      hint: 'List them with morpho sweeps list.',
      details: {sweepId: id},
    })
  }
  return doc
}

export interface SweepSummary {
  id: string
  createdAt: string
  metric: SweepMetric
  total: number
  done: number
  complete: boolean
  best: {runId: string; value: number; params: Record<string, SweepValue>} | null
  registered: {model: string; version: number; runId: string} | null
}

/** Every sweep in the store, newest first. */
export async function listSweeps(store: Store): Promise<{sweeps: SweepSummary[]}> {
  const docs = (await store.sweeps.list()) as SweepDoc[]
  const sweeps = docs.map((doc) => {
    const r = reportOf(doc)
    return {
      id: doc.id,
      createdAt: doc.createdAt,
      metric: doc.metric,
      total: r.total,
      done: r.done,
      complete: r.complete,
      best: r.best?.runId ? {runId: r.best.runId, value: r.best.value!, params: r.best.params} : null,
      registered: doc.registered ?? null,
    }
  })
  sweeps.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? 1 : -1))
  return {sweeps}
}
