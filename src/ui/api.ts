import {readdir} from 'node:fs/promises'
import {integrityError, isMorphoError, notFound} from '../errors.js'
import {
  getModel,
  type HistoryEntry,
  historyOf,
  type ModelRecord,
  type RegistryDocument,
  readRegistry,
  type Stage,
  type VersionEntry,
} from '../registry/index.js'
import {assertSafeId, isSafeId, type StorePaths} from '../store/paths.js'
import {type RunDetails, readRun, readRunRecord} from '../tracking/runs.js'
import type {RunRecord} from '../tracking/types.js'

/**
 * The JSON behind the page, built from the store. Each function answers one endpoint of
 * README "Web page"; the page and scripts read the same documents, so a field is only ever
 * added, never renamed. Absolute paths of the store's own folders are left out of the
 * registry views: a version's `path` is relative to the store, as in registry.json.
 */

/** What the process serves, as the server tells it; absent in `morpho ui`. */
export interface ServedInfo {
  name: string
  version: number
  stage: string
  /** When this version started answering (ISO text or a Date). */
  loadedAt: string | Date
  /** The run the version was trained by, when known (the page links it and draws its data). */
  runId?: string
  /** The folder holding model.json; default: the registered version's folder in the store. */
  dir?: string
  /**
   * The predictor answering /predict, if the server wants the decision boundary drawn with it
   * (TF.js is faster than the page's pure-JS fallback on large models). Called synchronously.
   */
  predictor?: {predictProba(rows: Float32Array, n: number): Float32Array}
  /**
   * Hold and give back the model while the page computes with its predictor, so a reload in the
   * meantime cannot free it under the computation (the server's model snapshots count holders).
   */
  acquire?(): unknown
  release?(): void
}

export interface RunSummary {
  id: string
  problem: string
  status: string
  createdAt: string
  endedAt: string | null
  seconds: number | null
  backend: string | null
  seed: number | null
  val_acc: number | null
  val_loss: number | null
  best_val_acc: number | null
  epochs: number | null
  seeds_germinated: number | null
  seeds_total: number | null
  parameters: number | null
  data: {kind: string; samples: number | null; features: number | null; classes: number | null} | null
  /** true when the run saved a model. */
  model: boolean
  /** Registered versions made from this run. */
  versions: {model: string; version: number; stage: Stage}[]
}

export interface RunsView {
  runs: RunSummary[]
  /** Run folders whose run.json could not be read, with the reason; the rest still list. */
  skipped: {id: string; error: string}[]
}

/** GET /api/runs: every run, newest first. A damaged run.json is reported, not fatal. */
export async function runsView(paths: StorePaths): Promise<RunsView> {
  let names: string[]
  try {
    names = await readdir(paths.runsDir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {runs: [], skipped: []}
    throw err
  }
  const byRun = versionsByRun(await readRegistry(paths).catch(() => undefined))
  const results = await Promise.all(
    names.filter(isSafeId).map(async (id) => {
      try {
        return {id, record: checkRecord(await readRunRecord(paths, id))}
      } catch (err) {
        // A folder without run.json is a run being created this instant, not damage.
        if (isMorphoError(err) && err.code === 'NOT_FOUND') return {id}
        return {id, error: (err as Error).message}
      }
    }),
  )
  const runs: RunSummary[] = []
  const skipped: RunsView['skipped'] = []
  for (const r of results) {
    if (r.record) runs.push(summarize(r.id, r.record, byRun.get(r.id) ?? []))
    else if (r.error !== undefined) skipped.push({id: r.id, error: r.error})
  }
  runs.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? 1 : -1))
  skipped.sort((a, b) => (a.id < b.id ? -1 : 1))
  return {runs, skipped}
}

/** GET /api/runs/{id}: the record as stored, every epoch and every event. */
export async function runView(paths: StorePaths, id: string): Promise<RunDetails> {
  assertSafeId('run id', id)
  const details = await readRun(paths, id)
  checkRecord(details.record)
  return details
}

export interface ModelVersionView extends VersionEntry {
  /** The aliases pointing at this version. */
  aliases: string[]
}

export interface ModelView {
  name: string
  createdAt: string
  /** alias → version */
  aliases: Record<string, number>
  /** Which version holds each stage (Archived: every archived version). */
  stages: {Production: number | null; Staging: number | null; Archived: number[]}
  /** Newest first. */
  versions: ModelVersionView[]
}

/** GET /api/models: every registered model with its versions, stages and aliases. */
export async function modelsView(paths: StorePaths): Promise<{models: ModelView[]}> {
  const doc = await readRegistry(paths)
  return {
    models: Object.keys(doc.models)
      .sort()
      .map((name) => modelView(getModel(doc, name)!)),
  }
}

export const HISTORY_DEFAULT_LIMIT = 200
export const HISTORY_MAX_LIMIT = 10_000

/** GET /api/history: transitions newest first, for one model or all; `total` counts before the limit. */
export async function historyView(
  paths: StorePaths,
  options: {model?: string; limit?: number} = {},
): Promise<{history: HistoryEntry[]; total: number}> {
  const doc = await readRegistry(paths)
  if (options.model !== undefined) {
    assertSafeId('model name', options.model)
    if (!getModel(doc, options.model)) {
      throw notFound(`No registered model "${options.model}"`, {details: {model: options.model}})
    }
  }
  const all = historyOf(doc, {model: options.model})
  return {history: all.slice(0, options.limit ?? HISTORY_DEFAULT_LIMIT), total: all.length}
}

export interface ServedView {
  name: string
  version: number
  stage: string
  loadedAt: string
  runId: string | null
  problem: string | null
  inputDim: number | null
  /** Label value of each output index. */
  classes: number[] | null
  /** The training mean of each raw feature: the page pre-fills the prediction form with it. */
  featureMeans: number[] | null
}

/** GET /api/served: the model this process serves, or null (always null in `morpho ui`). */
export function servedView(
  info: ServedInfo | undefined,
  model?: {problem: string; inputDim: number; classes: number[]; mean: number[]; runId?: string},
): ServedView | null {
  if (!info) return null
  return {
    name: info.name,
    version: info.version,
    stage: info.stage,
    loadedAt: info.loadedAt instanceof Date ? info.loadedAt.toISOString() : info.loadedAt,
    runId: info.runId ?? model?.runId ?? null,
    problem: model?.problem ?? null,
    inputDim: model?.inputDim ?? null,
    classes: model?.classes ?? null,
    featureMeans: model?.mean ?? null,
  }
}

function modelView(model: ModelRecord): ModelView {
  const aliasesOf = new Map<number, string[]>()
  for (const [alias, version] of Object.entries(model.aliases)) {
    aliasesOf.set(version, [...(aliasesOf.get(version) ?? []), alias])
  }
  const holder = (stage: Stage) => model.versions.find((v) => v.stage === stage)?.version ?? null
  const versions: ModelVersionView[] = []
  for (let i = model.versions.length - 1; i >= 0; i--) {
    const v = model.versions[i]!
    versions.push({...v, aliases: (aliasesOf.get(v.version) ?? []).sort()})
  }
  return {
    name: model.name,
    createdAt: model.createdAt,
    aliases: {...model.aliases},
    stages: {
      Production: holder('Production'),
      Staging: holder('Staging'),
      Archived: model.versions.filter((v) => v.stage === 'Archived').map((v) => v.version),
    },
    versions,
  }
}

function versionsByRun(doc: RegistryDocument | undefined): Map<string, RunSummary['versions']> {
  const out = new Map<string, RunSummary['versions']>()
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

/**
 * run.json parsed, but is it a run record? A hand-edited or foreign file can be valid JSON of
 * any shape; the fields every view relies on are checked here so a bad one is reported by name.
 */
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

function summarize(id: string, r: RunRecord, versions: RunSummary['versions']): RunSummary {
  const s = (r.summary ?? {}) as Partial<Record<string, unknown>>
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null)
  return {
    id,
    problem: r.problem,
    status: r.status,
    createdAt: r.createdAt,
    endedAt: typeof r.endedAt === 'string' ? r.endedAt : null,
    seconds: num(r.seconds),
    backend: typeof r.backend?.name === 'string' ? r.backend.name : null,
    seed: num(r.seed),
    val_acc: num(s.val_acc),
    val_loss: num(s.val_loss),
    best_val_acc: num(s.best_val_acc),
    epochs: num(s.epochs),
    seeds_germinated: num(s.seeds_germinated),
    seeds_total: num(s.seeds_total),
    parameters: num(s.parameters),
    data:
      r.data && typeof r.data === 'object'
        ? {
            kind: String(r.data.kind),
            samples: num(r.data.samples),
            features: num(r.data.features),
            classes: num(r.data.classes),
          }
        : null,
    model: typeof r.model === 'string',
    versions,
  }
}
