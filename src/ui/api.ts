import {notFound} from '../errors.js'
import {
  getModel,
  type HistoryEntry,
  historyOf,
  type ModelRecord,
  type RegistryDocument,
  readRegistry,
  type Stage,
  stageHolder,
  type VersionEntry,
} from '../registry/index.js'
import {assertSafeId} from '../store/paths.js'
import type {RunDetails, Store} from '../store/store.js'
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
  /** The folder holding model.json (null or absent: read the registered version from the store). */
  dir?: string | null
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
  /** The saved model's accuracy on the held-out test set (null: the run has none). */
  test_acc: number | null
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
  /** Runs whose record could not be read, with the reason; the rest still list. */
  skipped: {id: string; error: string}[]
}

/** GET /api/runs: every run, newest first. A damaged run record is reported, not fatal. */
export async function runsView(store: Store): Promise<RunsView> {
  const [{runs, skipped}, doc] = await Promise.all([store.runs.list(), readRegistry(store).catch(() => undefined)])
  const byRun = versionsByRun(doc)
  return {runs: runs.map((r) => summarize(r.id, r, byRun.get(r.id) ?? [])), skipped}
}

/** GET /api/runs/{id}: the record as stored, every epoch and every event. */
export function runView(store: Store, id: string): Promise<RunDetails> {
  assertSafeId('run id', id)
  return store.runs.details(id)
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
export async function modelsView(store: Store): Promise<{models: ModelView[]}> {
  const doc = await readRegistry(store)
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
  store: Store,
  options: {model?: string; limit?: number} = {},
): Promise<{history: HistoryEntry[]; total: number}> {
  if (options.model !== undefined) {
    assertSafeId('model name', options.model)
    if (!(await store.registry.read((tx) => tx.model(options.model!)))) {
      throw notFound(`No registered model "${options.model}"`, {details: {model: options.model}})
    }
  }
  const all = await historyOf(store, {model: options.model})
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
  // The registry's own rule for which version holds a stage, so the page shows what serve uses.
  const holder = (stage: Stage) => stageHolder(model, stage)?.version ?? null
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
    test_acc: num(s.test_acc),
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
