import {readModels} from '../registry/queries.js'
import type {RegistryModels, Stage} from '../registry/schema.js'
import {assertSafeId} from '../store/paths.js'
import type {Store} from '../store/store.js'
import type {RunEvent, RunRecord, RunStatus} from '../tracking/types.js'
import type {EpochMetrics, TrainSummary} from '../training/types.js'

/**
 * Runs as `runs list`, `runs show`, `train` and the page's /api/runs show them: one `Run`
 * shape everywhere (src/contract/catalog.ts), built from the stored record and the registry's
 * versions made from it. The files on disk keep their own layout (run.json, metrics.jsonl).
 */

export interface RunView {
  runId: string
  status: RunStatus
  problem: string
  createdAt: string
  endedAt: string | null
  seconds: number | null
  seed: number | null
  backend: RunRecord['backend'] | null
  data: RunRecord['data'] | null
  params: Record<string, unknown>
  summary: TrainSummary | null
  error: {code: string; message: string} | null
  /** The morpho and Node versions that trained it. */
  software: {morpho: string; node: string} | null
  /** The run saved its model. */
  model: boolean
  /** Registered versions made from this run. */
  versions: {model: string; version: number; stage: Stage}[]
  /** Where the run is: its folder, or "run <id> in <store>". */
  location: string
}

/** One epoch of a run, keys in camelCase (`seedStates`), metrics by their names. */
export type EpochView = Omit<EpochMetrics, 'seed_states'> & {seedStates: EpochMetrics['seed_states']}

export interface RunDetailView {
  run: RunView
  metrics: EpochView[]
  events: RunEvent[]
}

export interface RunListView {
  /** Newest first, after the filters and the limit. */
  runs: RunView[]
  /** How many runs match the filters, before the limit. */
  total: number
  /** Runs whose record could not be read, with the reason; the others still list. */
  skipped: {runId: string; error: string}[]
}

export interface RunFilters {
  problem?: string
  status?: RunStatus
  limit?: number
}

type VersionsByRun = Map<string, RunView['versions']>

export function toRunView(store: Store, record: RunRecord, versions: VersionsByRun): RunView {
  return {
    runId: record.id,
    status: record.status,
    problem: record.problem,
    createdAt: record.createdAt,
    endedAt: record.endedAt ?? null,
    seconds: record.seconds ?? null,
    seed: record.seed ?? null,
    backend: record.backend ?? null,
    data: record.data ?? null,
    params: record.params ?? {},
    summary: record.summary ?? null,
    error: record.error ?? null,
    software: record.versions ?? null,
    model: typeof record.model === 'string',
    versions: versions.get(record.id) ?? [],
    location: store.runs.describe(record.id),
  }
}

export function toEpochView({seed_states, ...rest}: EpochMetrics): EpochView {
  return {...rest, seedStates: seed_states}
}

/** Every run matching the filters, newest first (a damaged record is reported, not fatal). */
export async function listRunViews(store: Store, filters: RunFilters = {}): Promise<RunListView> {
  const [{runs, skipped}, doc] = await Promise.all([store.runs.list(), readModels(store).catch(() => undefined)])
  const byRun = versionsByRun(doc)
  const matching = runs.filter(
    (r) =>
      (filters.problem === undefined || r.problem === filters.problem) &&
      (filters.status === undefined || r.status === filters.status),
  )
  const shown = filters.limit === undefined ? matching : matching.slice(0, filters.limit)
  return {
    runs: shown.map((r) => toRunView(store, r, byRun)),
    total: matching.length,
    skipped: skipped.map((s) => ({runId: s.id, error: s.error})),
  }
}

/** One run as `runs show` gives it, without its epochs and events. */
export async function runViewOf(store: Store, id: string): Promise<RunView> {
  const [record, doc] = await Promise.all([store.runs.get(id), readModels(store).catch(() => undefined)])
  return toRunView(store, record, versionsByRun(doc))
}

/** One run with every epoch and event. */
export async function runDetailView(store: Store, id: string): Promise<RunDetailView> {
  assertSafeId('run id', id)
  const [details, doc] = await Promise.all([store.runs.details(id), readModels(store).catch(() => undefined)])
  return {
    run: toRunView(store, details.record, versionsByRun(doc)),
    metrics: details.metrics.map(toEpochView),
    events: details.events,
  }
}

function versionsByRun(doc: RegistryModels | undefined): VersionsByRun {
  const out: VersionsByRun = new Map()
  if (!doc) return out
  for (const name of Object.keys(doc.models).sort()) {
    for (const v of doc.models[name]!.versions) {
      const list = out.get(v.runId) ?? []
      list.push({model: name, version: v.version, stage: v.stage})
      out.set(v.runId, list)
    }
  }
  return out
}
