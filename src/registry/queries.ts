import {notFound} from '../errors.js'
import {lowerIsBetter as metricLowerIsBetter} from '../metrics.js'
import {decodeModel, type LoadedModel} from '../model/serialize.js'
import type {ModelFiles} from '../store/files.js'
import type {RegistryReadTx, Store} from '../store/store.js'
import {type Manifest, verifyFiles} from './manifest.js'
import {
  type HistoryEntry,
  type ModelRecord,
  REGISTRY_SCHEMA_VERSION,
  type RegistryDocument,
  type RegistryModels,
  type Stage,
  type VersionEntry,
} from './schema.js'
import {pickModel, resolveVersion, stageHolder, type VersionRef} from './select.js'

/**
 * The registry's read side: versions, the best one, the Production one, the history, and the
 * files of a version, verified. Every function takes the store and reads it in one consistent
 * view, like the writes (register.ts, stages.ts, aliases.ts) do.
 */

/** A version as commands and the server show it: the entry plus its model, aliases and folder. */
export interface VersionView extends VersionEntry {
  model: string
  aliases: string[]
  /**
   * The version's folder on this machine: a folder store's version folder; for a database
   * store the local cache folder when this command wrote the files there (`production`), else
   * null (the files are rows in the database).
   */
  dir: string | null
}

export function aliasIndex(model: ModelRecord): Map<number, string[]> {
  const index = new Map<number, string[]>()
  for (const alias of Object.keys(model.aliases).sort()) {
    const version = model.aliases[alias]!
    const list = index.get(version)
    if (list) list.push(alias)
    else index.set(version, [alias])
  }
  return index
}

export function view(store: Store, model: ModelRecord, entry: VersionEntry, aliases = aliasIndex(model)): VersionView {
  return {
    model: model.name,
    ...entry,
    aliases: aliases.get(entry.version) ?? [],
    dir: store.kind === 'folder' ? store.registry.versionDir(model.name, entry) : null,
  }
}

export interface ListOptions {
  model?: string
  stage?: Stage
}

/** Versions newest first; without a model, every model (by name) when there are several. */
export function listVersions(store: Store, options: ListOptions = {}): Promise<VersionView[]> {
  return store.registry.read(async (tx) => {
    const models =
      options.model !== undefined
        ? [await pickModel(tx, options.model)]
        : await Promise.all((await tx.modelNames()).map(async (n) => (await tx.model(n))!))
    const out: VersionView[] = []
    for (const model of models) {
      const aliases = aliasIndex(model)
      for (let i = model.versions.length - 1; i >= 0; i--) {
        const entry = model.versions[i]!
        if (options.stage !== undefined && entry.stage !== options.stage) continue
        out.push(view(store, model, entry, aliases))
      }
    }
    return out
  })
}

export interface BestOptions {
  model?: string
  /** Default val_acc. */
  metric?: string
  lowerIsBetter?: boolean
  stage?: Stage
}

export interface BestResult {
  model: string
  version: number
  metric: string
  value: number
  lowerIsBetter: boolean
  /** Versions that had the metric and were compared. */
  considered: number
  /** Versions passed over because they do not have the metric. */
  skipped: number
  entry: VersionView
}

/**
 * The best version by a metric. Versions without the metric (or with a non-finite value) are
 * skipped, never counted as 0; on a tie the newest version wins. Nothing to compare: NOT_FOUND.
 */
export function findBest(store: Store, options: BestOptions = {}): Promise<BestResult> {
  return store.registry.read(async (tx) => {
    const model = await pickModel(tx, options.model)
    const metric = options.metric ?? 'val_acc'
    const lowerIsBetter = options.lowerIsBetter ?? metricLowerIsBetter(metric)
    const pool = options.stage === undefined ? model.versions : model.versions.filter((v) => v.stage === options.stage)
    const where = options.stage === undefined ? '' : ` in stage ${options.stage}`
    if (pool.length === 0) {
      throw notFound(`no version of ${model.name}${where}`, {
        hint:
          options.stage === undefined
            ? 'Register one: morpho register <run-id>.'
            : 'Drop --stage, or promote a version there first.',
        details: {model: model.name, stage: options.stage ?? null},
      })
    }
    const best = pickBest(pool, metric, lowerIsBetter)
    if (!best) {
      const known = [...new Set(pool.flatMap((v) => Object.keys(v.metrics)))].sort()
      throw notFound(`no version of ${model.name}${where} has the metric "${metric}"`, {
        hint: known.length > 0 ? `Metrics recorded: ${known.join(', ')}.` : 'These versions record no metrics.',
        details: {model: model.name, metric, stage: options.stage ?? null, metrics: known},
      })
    }
    return {
      model: model.name,
      version: best.entry.version,
      metric,
      value: best.value,
      lowerIsBetter,
      considered: best.considered,
      skipped: pool.length - best.considered,
      entry: view(store, model, best.entry),
    }
  })
}

export function pickBest(
  versions: readonly VersionEntry[],
  metric: string,
  lowerIsBetter: boolean,
): {entry: VersionEntry; value: number; considered: number} | undefined {
  let best: {entry: VersionEntry; value: number} | undefined
  let considered = 0
  for (const entry of versions) {
    const value = Object.hasOwn(entry.metrics, metric) ? entry.metrics[metric] : undefined
    if (typeof value !== 'number' || !Number.isFinite(value)) continue
    considered++
    // ">=": versions are ascending, so an equal value later on is a newer version and takes the tie.
    if (!best || (lowerIsBetter ? value <= best.value : value >= best.value)) best = {entry, value}
  }
  return best && {...best, considered}
}

export interface ProductionResult {
  model: string
  version: number
  /** models:/<name>/<version>, as the original printed it. */
  uri: string
  dir: string
  entry: VersionView
}

/**
 * The Production version, checked against its manifest; none is NOT_FOUND. Its files are on
 * this machine afterwards: a database store writes them to its local cache folder, `dir`.
 */
export async function findProduction(store: Store, options: {model?: string} = {}): Promise<ProductionResult> {
  const resolved = await resolveModel(store, {model: options.model, stage: 'Production'})
  const dir = await store.registry.materialize(resolved.name, resolved.entry, resolved.files!)
  return {
    model: resolved.name,
    version: resolved.entry.version,
    uri: `models:/${resolved.name}/${resolved.entry.version}`,
    dir,
    entry: {...resolved.entry, dir},
  }
}

/** History newest first, for one model or all. */
export function historyOf(store: Store, options: {model?: string; limit?: number} = {}): Promise<HistoryEntry[]> {
  return store.registry.read(async (tx) => {
    const name = options.model === undefined ? undefined : (await pickModel(tx, options.model)).name
    return newestFirst(await tx.history(name), options.limit)
  })
}

/** The history newest first, at most `limit` entries, and how many there are in all. */
export async function historyListing(
  store: Store,
  options: {model?: string; limit?: number} = {},
): Promise<{entries: HistoryEntry[]; total: number}> {
  const all = await historyOf(store, {model: options.model})
  return {entries: options.limit === undefined ? all : all.slice(0, options.limit), total: all.length}
}

export function newestFirst(history: readonly HistoryEntry[], limit?: number): HistoryEntry[] {
  const out: HistoryEntry[] = []
  for (let i = history.length - 1; i >= 0; i--) {
    if (limit !== undefined && out.length >= limit) break
    out.push(history[i]!)
  }
  return out
}

export interface ResolveModelOptions {
  model?: string
  /** A version number, or an alias / "latest" / "production" / "staging". */
  version?: VersionRef
  /** Used when no version is given. Default Production. */
  stage?: Stage
  /** Default true: check the files against the manifest (INTEGRITY, exit 7, on a mismatch). */
  verify?: boolean
}

export interface ResolvedModel {
  name: string
  entry: VersionView
  /** The version's folder (a folder store), else null: see VersionView.dir. */
  dir: string | null
  manifest?: Manifest
  /** The verified files, when they were read. */
  files?: ModelFiles
}

/** Which version to load, and where its files are: for `serve`, `predict` and the like. */
export async function resolveModel(store: Store, options: ResolveModelOptions = {}): Promise<ResolvedModel> {
  const {model, entry} = await store.registry.read(async (tx) => {
    const model = await pickModel(tx, options.model)
    return {model, entry: targetEntry(model, options)}
  })
  const v = view(store, model, entry)
  if (options.verify === false) return {name: model.name, entry: v, dir: v.dir}
  const {files, manifest} = await verifiedFiles(store, model.name, entry)
  return {name: model.name, entry: v, dir: v.dir, manifest, files}
}

function targetEntry(model: ModelRecord, options: ResolveModelOptions): VersionEntry {
  if (options.version !== undefined) return resolveVersion(model, options.version)
  const stage = options.stage ?? 'Production'
  const holder = stageHolder(model, stage)
  if (!holder) {
    const production = stage === 'Production'
    throw notFound(`no ${stage} version of ${model.name}`, {
      hint: production
        ? `Promote one: morpho promote Production --version N --model ${model.name} (without --version: the best by val_acc).`
        : `Promote one: morpho promote ${stage} --version N --model ${model.name}.`,
      details: {model: model.name, stage},
    })
  }
  return holder
}

/** A version's files, checked against its manifest (INTEGRITY, exit 7, when they do not match). */
export async function verifiedFiles(
  store: Store,
  model: string,
  entry: VersionEntry,
): Promise<{files: ModelFiles; manifest: Manifest}> {
  const files = await store.registry.versionFiles(model, entry)
  const manifest = verifyFiles(files, {
    label: `${model} v${entry.version}`,
    manifestSha256: entry.manifestSha256,
    hint: store.registry.describeVersion(model, entry),
    details: store.kind === 'folder' ? {dir: store.registry.versionDir(model, entry)} : {model, version: entry.version},
  })
  return {files, manifest}
}

/** A version's model, loaded from its verified files. */
export async function loadVersion(store: Store, model: string, entry: VersionEntry): Promise<LoadedModel> {
  const {files} = await verifiedFiles(store, model, entry)
  return decodeModel(files, `${model} v${entry.version}`)
}

/** The whole registry as one document (the folder's registry.json layout), whatever the backend. */
export function readRegistry(store: Store): Promise<RegistryDocument> {
  return store.registry.read(async (tx) => ({...(await modelsOf(tx)), history: await tx.history()}))
}

/**
 * The registry's models without its history, which grows by an entry with every change and
 * which only `history` and `store copy` need: what a server, the page and the run listings
 * look versions up in (on PostgreSQL, one query less and as many rows fewer as there are
 * entries).
 */
export function readModels(store: Store): Promise<RegistryModels> {
  return store.registry.read(modelsOf)
}

async function modelsOf(tx: RegistryReadTx): Promise<RegistryModels> {
  const models: RegistryModels['models'] = {}
  for (const name of await tx.modelNames()) models[name] = (await tx.model(name))!
  return {schemaVersion: REGISTRY_SCHEMA_VERSION, models}
}
