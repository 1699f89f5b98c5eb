import {listRunViews, type RunDetailView, type RunListView, runDetailView} from '../contract/runs.js'
import {notFound} from '../errors.js'
import type {ClassLabels} from '../model/model-file.js'
import {
  aliasIndex,
  getModel,
  type HistoryEntry,
  historyListing,
  type ModelRecord,
  readModels,
  type Stage,
  stageHolder,
  type VersionView,
  view,
} from '../registry/index.js'
import {assertSafeId} from '../store/paths.js'
import type {Store} from '../store/store.js'

/**
 * The JSON behind the page, built from the store. Each function answers one endpoint of
 * README "Web page", in the shapes of src/contract/catalog.ts: runs and versions as the
 * commands print them (`runs list`, `list`, `history --json`), so a script reads one shape.
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

/** GET /api/runs: every run, newest first, as `morpho runs list --json` gives them. */
export function runsView(store: Store, limit?: number): Promise<RunListView> {
  return listRunViews(store, {limit})
}

/** GET /api/runs/{id}: the run, every epoch and every event, as `morpho runs show --json`. */
export function runView(store: Store, id: string): Promise<RunDetailView> {
  return runDetailView(store, id)
}

export interface ModelView {
  name: string
  createdAt: string
  /** alias → version */
  aliases: Record<string, number>
  /** Which version holds each stage (Archived: every archived version). */
  stages: {Production: number | null; Staging: number | null; Archived: number[]}
  /** Newest first. */
  versions: VersionView[]
}

/** GET /api/models: every registered model with its versions, stages and aliases. */
export async function modelsView(store: Store): Promise<{models: ModelView[]}> {
  const doc = await readModels(store)
  return {
    models: Object.keys(doc.models)
      .sort()
      .map((name) => modelView(store, getModel(doc, name)!)),
  }
}

export const HISTORY_DEFAULT_LIMIT = 200
export const HISTORY_MAX_LIMIT = 10_000

/** GET /api/history: transitions newest first, for one model or all, as `morpho history --json`. */
export async function historyView(
  store: Store,
  options: {model?: string; limit?: number} = {},
): Promise<{entries: HistoryEntry[]; total: number}> {
  if (options.model !== undefined) {
    assertSafeId('model name', options.model)
    if (!(await store.registry.read((tx) => tx.model(options.model!)))) {
      throw notFound(`No registered model "${options.model}"`, {details: {model: options.model}})
    }
  }
  return historyListing(store, {model: options.model, limit: options.limit ?? HISTORY_DEFAULT_LIMIT})
}

export interface ServedView {
  name: string
  version: number
  stage: string
  loadedAt: string
  runId: string | null
  problem: string | null
  inputDim: number | null
  /** Label of each output index (integers, or a CSV file's text labels). */
  classes: ClassLabels | null
  /** The model's feature names (a CSV's header, else x1 … xN). */
  featureNames: string[] | null
  /** The training mean of each raw feature: the page pre-fills the prediction form with it. */
  featureMeans: number[] | null
}

/** What /api/served tells of the served model's file. */
export interface ServedModel {
  problem: string
  inputDim: number
  classes: ClassLabels
  featureNames: string[]
  mean: number[]
  runId?: string
}

/** GET /api/served: the model this process serves; `served` is null in `morpho ui`. */
export function servedView(info: ServedInfo | undefined, model?: ServedModel): {served: ServedView | null} {
  if (!info) return {served: null}
  return {served: servedOf(info, model)}
}

function servedOf(info: ServedInfo, model?: ServedModel): ServedView {
  return {
    name: info.name,
    version: info.version,
    stage: info.stage,
    loadedAt: info.loadedAt instanceof Date ? info.loadedAt.toISOString() : info.loadedAt,
    runId: info.runId ?? model?.runId ?? null,
    problem: model?.problem ?? null,
    inputDim: model?.inputDim ?? null,
    classes: model?.classes ?? null,
    featureNames: model?.featureNames ?? null,
    featureMeans: model?.mean ?? null,
  }
}

function modelView(store: Store, model: ModelRecord): ModelView {
  const aliases = aliasIndex(model)
  // The registry's own rule for which version holds a stage, so the page shows what serve uses.
  const holder = (stage: Stage) => stageHolder(model, stage)?.version ?? null
  const versions: VersionView[] = []
  for (let i = model.versions.length - 1; i >= 0; i--) versions.push(view(store, model, model.versions[i]!, aliases))
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
