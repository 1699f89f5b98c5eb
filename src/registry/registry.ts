import {randomBytes} from 'node:crypto'
import {mkdir, readdir, readFile, rename, rm, stat} from 'node:fs/promises'
import {hostname, userInfo} from 'node:os'
import {basename, join, relative, sep} from 'node:path'
import {invalidData, notFound, usageError} from '../errors.js'
import {fsyncDir} from '../store/atomic.js'
import {assertSafeId, type StorePaths, within} from '../store/paths.js'
import type {RunRecord} from '../tracking/types.js'
import {type HeldLock, withLock} from './lock.js'
import {copyModelFiles, MANIFEST_SCHEMA_VERSION, type Manifest, verifyVersion, writeManifest} from './manifest.js'
import {
  type Actor,
  getModel,
  type HistoryEntry,
  type ModelRecord,
  type RegisteredBy,
  type RegistryDocument,
  type Rule,
  type Stage,
  type VersionEntry,
} from './schema.js'
import {
  assertAlias,
  findVersion,
  isMorphoCode,
  modelNameFor,
  resolveVersion,
  selectModel,
  stageHolder,
  type VersionRef,
} from './select.js'
import {openRegistry, readRegistry} from './store.js'

/**
 * The registry operations. Every change is one read-modify-write of registry.json under the
 * inter-process lock, and every change appends to the history; a call that changes nothing
 * (promoting a version to the stage it is in) writes nothing.
 */

/** A version as commands and the server show it: the entry plus its model, aliases and folder. */
export interface VersionView extends VersionEntry {
  model: string
  aliases: string[]
  /** Absolute path of the version folder. */
  dir: string
}

// ---------------------------------------------------------------------------------------------
// Writing

interface Tx {
  doc: RegistryDocument
  time: string
  /** Undo steps for files moved into place, run only if the registry write then fails. */
  undo: (() => Promise<void>)[]
}

async function mutate<T>(paths: StorePaths, fn: (tx: Tx, lock: HeldLock) => Promise<T>): Promise<T> {
  return withLock(paths.registryLock, async (lock) => {
    await removeDeadTempFiles(paths)
    const db = openRegistry(paths)
    await db.read()
    const before = db.data.history.length
    const tx: Tx = {doc: db.data, time: new Date().toISOString(), undo: []}
    const result = await fn(tx, lock)
    if (db.data.history.length === before) return result
    lock.assertHeld()
    try {
      await db.write()
    } catch (err) {
      for (const step of tx.undo.reverse()) await step().catch(() => undefined)
      throw err
    }
    return result
  })
}

/**
 * Temp files of registry writes that never reached their rename (the writer was killed).
 * Only the lock holder writes the registry, so while we hold it any such file is garbage.
 */
async function removeDeadTempFiles(paths: StorePaths): Promise<void> {
  const prefix = `.${basename(paths.registryFile)}.`
  const names = await readdir(paths.home).catch(() => [] as string[])
  for (const name of names) {
    if (name.startsWith(prefix) && name.endsWith('.tmp')) await rm(join(paths.home, name), {force: true})
  }
}

let cachedActor: Actor | undefined
function actor(): Actor {
  if (!cachedActor) {
    let user = process.env.USER ?? process.env.USERNAME ?? 'unknown'
    try {
      user = userInfo().username
    } catch {
      // No passwd entry (some containers): keep the environment's answer.
    }
    cachedActor = {user, host: hostname(), pid: process.pid}
  }
  return cachedActor
}

function record(tx: Tx, entry: Omit<HistoryEntry, 'seq' | 'time' | 'actor'>): void {
  const seq = (tx.doc.history.at(-1)?.seq ?? 0) + 1
  tx.doc.history.push({seq, time: tx.time, ...entry, actor: actor()})
}

export interface RegisterOptions {
  /** Default: the run's problem, made into a valid name. */
  model?: string
  description?: string
  tags?: Record<string, string>
  /** Default: manual. */
  registeredBy?: RegisteredBy
  /** Why, for the history. */
  reason?: string
}

export interface RegisterResult {
  model: string
  version: number
  entry: VersionView
}

/**
 * Registers a completed run's model as the model's next version: copies runs/<id>/model/ into
 * models/<name>/<version>/ with a sha256 manifest, then records it. The copy is made outside the
 * lock in a private folder; under the lock it is only renamed into place, so concurrent
 * registrations wait on each other for milliseconds, not for a copy.
 */
export async function registerRun(
  paths: StorePaths,
  runId: string,
  options: RegisterOptions = {},
): Promise<RegisterResult> {
  const run = await readRun(paths, runId)
  const name = options.model !== undefined ? assertSafeId('model name', options.model) : modelNameFor(run.problem)
  const source = await runModelDir(paths, run)
  // Refuse an unreadable registry before copying anything into the store.
  await readRegistry(paths)
  const modelDir = paths.modelDir(name)
  await mkdir(modelDir, {recursive: true})
  const incoming = join(modelDir, `.incoming.${hostname()}.${process.pid}.${randomBytes(4).toString('hex')}`)
  try {
    const files = await copyModelFiles(source, incoming)
    const manifest: Manifest = {
      schemaVersion: MANIFEST_SCHEMA_VERSION,
      algorithm: 'sha256',
      model: name,
      runId: run.id,
      createdAt: new Date().toISOString(),
      files,
    }
    const manifestSha256 = await writeManifest(incoming, manifest)
    const registeredBy = options.registeredBy ?? {rule: 'manual'}
    return await mutate(paths, async (tx) => {
      let model = getModel(tx.doc, name)
      if (!model) {
        model = {name, createdAt: tx.time, nextVersion: 1, aliases: {}, versions: []}
        tx.doc.models[name] = model
      }
      const version = model.nextVersion
      const dir = paths.versionDir(name, version)
      // A folder here is not in the registry (the number was never handed out): a writer
      // crashed between moving its copy into place and recording it. Replace it.
      await rm(dir, {recursive: true, force: true})
      await rename(incoming, dir)
      await fsyncDir(modelDir)
      tx.undo.push(() => rm(dir, {recursive: true, force: true}))
      const entry: VersionEntry = {
        version,
        stage: 'None',
        runId: run.id,
        createdAt: tx.time,
        updatedAt: tx.time,
        description: options.description ?? null,
        tags: options.tags ?? {},
        metrics: numericSummary(run),
        params: {problem: run.problem, backend: run.backend?.name ?? 'unknown', seed: run.seed ?? null},
        path: storeRelative(paths, dir),
        manifestSha256,
        registeredBy,
      }
      model.versions.push(entry)
      model.nextVersion = version + 1
      record(tx, {
        model: name,
        version,
        action: 'register',
        from: null,
        to: 'None',
        reason:
          options.reason ??
          (registeredBy.rule === 'auto' ? autoReason(entry, registeredBy) : `registered run ${run.id}`),
        rule: registeredBy,
      })
      return {model: name, version, entry: view(paths, model, entry)}
    })
  } finally {
    await rm(incoming, {recursive: true, force: true})
    await removeDeadCopies(modelDir)
  }
}

/**
 * Private copy folders left by writers on this machine that were killed mid-copy (their pid is
 * gone). Folders from other hosts sharing the store are left alone: their pids mean nothing here.
 */
async function removeDeadCopies(modelDir: string): Promise<void> {
  const names = await readdir(modelDir).catch(() => [] as string[])
  for (const name of names) {
    const match = /^\.incoming\.(.+)\.(\d+)\.[0-9a-f]+$/.exec(name)
    const pid = Number(match?.[2])
    if (!match || match[1] !== hostname() || !pid || pid === process.pid || isAlive(pid)) continue
    await rm(join(modelDir, name), {recursive: true, force: true}).catch(() => undefined)
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export type PromoteStage = Exclude<Stage, 'None'>

export interface PromoteOptions {
  model?: string
  /** Default: the best version by val_acc that is not Archived. */
  version?: VersionRef
  stage: PromoteStage
  /**
   * Default true: the other holders of the target stage are Archived. With false, other
   * Staging holders stay in Staging; Production stays exclusive and its previous holder
   * goes back to None.
   */
  archive?: boolean
  reason?: string
  /** Default: manual. */
  promotedBy?: Extract<Rule, {rule: 'manual'} | {rule: 'auto'}>
}

export interface Displaced {
  version: number
  from: Stage
  to: Stage
}

export interface PromoteResult {
  model: string
  version: number
  from: Stage
  to: Stage
  /** True when the version already was in that stage: nothing changed, nothing was written. */
  noop: boolean
  displaced: Displaced[]
  entry: VersionView
}

/** Moves one version to a stage and the previous holders out of it, in one locked write. */
export async function promote(paths: StorePaths, options: PromoteOptions): Promise<PromoteResult> {
  const archive = options.archive ?? true
  const rule = options.promotedBy ?? {rule: 'manual'}
  return mutate(paths, async (tx) => {
    const model = selectModel(tx.doc, options.model)
    let entry: VersionEntry
    let why: string
    if (options.version !== undefined) {
      entry = resolveVersion(model, options.version)
      why = rule.rule === 'auto' ? autoReason(entry, rule) : 'manual promotion'
    } else {
      if (options.stage === 'Archived') {
        throw usageError('say which version to archive with --version', {details: {model: model.name}})
      }
      // Archived versions were retired on purpose; and picking for Staging must not pull the
      // Production version down into Staging.
      const pool = model.versions.filter(
        (v) => v.stage !== 'Archived' && !(options.stage === 'Staging' && v.stage === 'Production'),
      )
      const best = pickBest(pool, 'val_acc', false)
      if (!best) {
        throw notFound(
          `no version of ${model.name} to promote to ${options.stage}: none that qualifies has a val_acc`,
          {
            hint: 'Candidates are versions not Archived (for Staging: nor in Production). Name one with --version N.',
            details: {model: model.name},
          },
        )
      }
      entry = best.entry
      why = `best val_acc (${fmt(best.value)}) among versions not Archived`
    }
    const from = entry.stage
    const to = options.stage
    if (from === to) {
      return {
        model: model.name,
        version: entry.version,
        from,
        to,
        noop: true,
        displaced: [],
        entry: view(paths, model, entry),
      }
    }
    if (to !== 'Archived') await verifyEntry(paths, model, entry)

    record(tx, {
      model: model.name,
      version: entry.version,
      action: 'transition',
      from,
      to,
      reason: options.reason ?? why,
      rule,
    })
    setStage(tx, entry, to, rule)
    const displaced: Displaced[] = []
    const exclusive = to === 'Production' || (to === 'Staging' && archive)
    if (exclusive) {
      for (const other of model.versions) {
        if (other === entry || other.stage !== to) continue
        const next: Stage = archive ? 'Archived' : 'None'
        const by: Rule = {rule: 'displaced', by: entry.version}
        record(tx, {
          model: model.name,
          version: other.version,
          action: 'transition',
          from: to,
          to: next,
          reason: archive
            ? `archived by promotion of v${entry.version} to ${to}`
            : `moved to None by promotion of v${entry.version} to ${to} (--no-archive)`,
          rule: by,
        })
        setStage(tx, other, next, by)
        displaced.push({version: other.version, from: to, to: next})
      }
    }
    return {
      model: model.name,
      version: entry.version,
      from,
      to,
      noop: false,
      displaced,
      entry: view(paths, model, entry),
    }
  })
}

export interface RollbackResult {
  model: string
  /** The version now in Production. */
  version: number
  /** The version that was in Production before (now Archived), if any. */
  from: number | null
  /** Earlier Production versions passed over because their files no longer verify. */
  skipped: {version: number; reason: string}[]
  entry: VersionView
}

/**
 * Puts back the version that was in Production before the current one, as the history tells
 * it, passing over versions whose files no longer verify; the current holder is Archived.
 * Rolling back again keeps going back (v3 → v2 → v1), it does not bounce between two.
 */
export async function rollback(
  paths: StorePaths,
  options: {model?: string; reason?: string} = {},
): Promise<RollbackResult> {
  return mutate(paths, async (tx) => {
    const model = selectModel(tx.doc, options.model)
    const current = stageHolder(model, 'Production')
    const skipped: {version: number; reason: string}[] = []
    let target: VersionEntry | undefined
    const seen = new Set<number>()
    for (const version of productionStack(tx.doc.history, model.name).reverse()) {
      if (version === current?.version || seen.has(version)) continue
      seen.add(version)
      const candidate = findVersion(model, version)
      if (!candidate) continue
      try {
        await verifyEntry(paths, model, candidate)
        target = candidate
        break
      } catch (err) {
        if (!isMorphoCode(err, 'INTEGRITY')) throw err
        skipped.push({version, reason: (err as Error).message})
      }
    }
    if (!target) {
      throw notFound(
        `nothing to roll back to: ${model.name} has no earlier Production version${skipped.length > 0 ? ' whose files verify' : ''}`,
        {
          hint: 'Promote a version by hand: morpho promote Production --version N.',
          details: {model: model.name, current: current?.version ?? null, skipped},
        },
      )
    }
    const skippedNote =
      skipped.length > 0 ? ` (skipped ${skipped.map((s) => `v${s.version}`).join(', ')}: files do not verify)` : ''
    const rule: Rule = {rule: 'rollback', from: current?.version ?? null}
    record(tx, {
      model: model.name,
      version: target.version,
      action: 'rollback',
      from: target.stage,
      to: 'Production',
      reason:
        (options.reason ??
          (current ? `rollback from v${current.version}` : 'rollback to the last Production version')) + skippedNote,
      rule,
    })
    setStage(tx, target, 'Production', rule)
    if (current) {
      const by: Rule = {rule: 'displaced', by: target.version}
      record(tx, {
        model: model.name,
        version: current.version,
        action: 'transition',
        from: 'Production',
        to: 'Archived',
        reason: `archived by rollback to v${target.version}`,
        rule: by,
      })
      setStage(tx, current, 'Archived', by)
    }
    return {
      model: model.name,
      version: target.version,
      from: current?.version ?? null,
      skipped,
      entry: view(paths, model, target),
    }
  })
}

/**
 * The sequence of Production holders, replayed from the history: a promotion to Production
 * pushes, a rollback to vN cuts the stack back to vN, and a version taken out of Production by
 * hand (not displaced by another) is popped. The last element is the current or last holder.
 */
export function productionStack(history: readonly HistoryEntry[], model: string): number[] {
  const stack: number[] = []
  for (const e of history) {
    if (e.model !== model) continue
    if (e.action === 'transition' && e.to === 'Production') {
      stack.push(e.version)
    } else if (e.action === 'rollback') {
      const at = stack.lastIndexOf(e.version)
      if (at >= 0) stack.length = at + 1
      else stack.push(e.version)
    } else if (e.action === 'transition' && e.from === 'Production' && e.rule.rule !== 'displaced') {
      if (stack.at(-1) === e.version) stack.pop()
    }
  }
  return stack
}

export interface AliasResult {
  model: string
  alias: string
  version: number
  /** The version the alias pointed at before (set), or null when it is new. */
  previous: number | null
  noop: boolean
}

export async function setAlias(
  paths: StorePaths,
  options: {model?: string; alias: string; version: VersionRef},
): Promise<AliasResult> {
  const alias = assertAlias(options.alias)
  return mutate(paths, async (tx) => {
    const model = selectModel(tx.doc, options.model)
    const entry = resolveVersion(model, options.version)
    const previous = Object.hasOwn(model.aliases, alias) ? model.aliases[alias]! : null
    if (previous === entry.version) return {model: model.name, alias, version: entry.version, previous, noop: true}
    model.aliases[alias] = entry.version
    record(tx, {
      model: model.name,
      version: entry.version,
      action: 'alias_set',
      from: previous,
      to: entry.version,
      alias,
      reason:
        previous === null
          ? `alias ${alias} set to v${entry.version}`
          : `alias ${alias} moved from v${previous} to v${entry.version}`,
      rule: {rule: 'manual'},
    })
    return {model: model.name, alias, version: entry.version, previous, noop: false}
  })
}

export async function deleteAlias(paths: StorePaths, options: {model?: string; alias: string}): Promise<AliasResult> {
  const alias = assertAlias(options.alias)
  return mutate(paths, async (tx) => {
    const model = selectModel(tx.doc, options.model)
    if (!Object.hasOwn(model.aliases, alias)) {
      const aliases = Object.keys(model.aliases).sort()
      throw notFound(`${model.name} has no alias "${alias}"`, {
        hint: aliases.length > 0 ? `Aliases: ${aliases.join(', ')}.` : `${model.name} has no aliases.`,
        details: {model: model.name, alias, aliases},
      })
    }
    const version = model.aliases[alias]!
    delete model.aliases[alias]
    record(tx, {
      model: model.name,
      version,
      action: 'alias_delete',
      from: version,
      to: null,
      alias,
      reason: `alias ${alias} deleted (was v${version})`,
      rule: {rule: 'manual'},
    })
    return {model: model.name, alias, version, previous: version, noop: false}
  })
}

function setStage(tx: Tx, entry: VersionEntry, stage: Stage, rule: Rule): void {
  entry.stage = stage
  entry.updatedAt = tx.time
  entry.promotedBy = {...rule, at: tx.time}
}

function autoReason(entry: VersionEntry, rule: Extract<Rule, {rule: 'auto'}>): string {
  const value = entry.metrics[rule.metric]
  return `auto: ${rule.metric} ${value === undefined ? 'n/a' : fmt(value)} >= ${rule.threshold}`
}

// ---------------------------------------------------------------------------------------------
// Reading

export interface ListOptions {
  model?: string
  stage?: Stage
}

/** Versions newest first; without a model, every model (by name) when there are several. */
export function listVersions(paths: StorePaths, doc: RegistryDocument, options: ListOptions = {}): VersionView[] {
  const models =
    options.model !== undefined
      ? [selectModel(doc, options.model)]
      : Object.keys(doc.models)
          .sort()
          .map((n) => doc.models[n]!)
  const out: VersionView[] = []
  for (const model of models) {
    const aliases = aliasIndex(model)
    for (let i = model.versions.length - 1; i >= 0; i--) {
      const entry = model.versions[i]!
      if (options.stage !== undefined && entry.stage !== options.stage) continue
      out.push(view(paths, model, entry, aliases))
    }
  }
  return out
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
export function findBest(paths: StorePaths, doc: RegistryDocument, options: BestOptions = {}): BestResult {
  const model = selectModel(doc, options.model)
  const metric = options.metric ?? 'val_acc'
  const lowerIsBetter = options.lowerIsBetter ?? false
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
    entry: view(paths, model, best.entry),
  }
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

/** The Production version, checked against its manifest; none is NOT_FOUND. */
export async function findProduction(
  paths: StorePaths,
  doc: RegistryDocument,
  options: {model?: string} = {},
): Promise<ProductionResult> {
  const model = selectModel(doc, options.model)
  const entry = stageHolder(model, 'Production')
  if (!entry) {
    throw notFound(`no Production version of ${model.name}`, {
      hint: `Promote one: morpho promote Production --version N --model ${model.name} (without --version: the best by val_acc).`,
      details: {model: model.name},
    })
  }
  await verifyEntry(paths, model, entry)
  const v = view(paths, model, entry)
  return {
    model: model.name,
    version: entry.version,
    uri: `models:/${model.name}/${entry.version}`,
    dir: v.dir,
    entry: v,
  }
}

/** History newest first, for one model or all. */
export function historyOf(doc: RegistryDocument, options: {model?: string; limit?: number} = {}): HistoryEntry[] {
  const name = options.model === undefined ? undefined : selectModel(doc, options.model).name
  const out: HistoryEntry[] = []
  for (let i = doc.history.length - 1; i >= 0; i--) {
    if (options.limit !== undefined && out.length >= options.limit) break
    const e = doc.history[i]!
    if (name === undefined || e.model === name) out.push(e)
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
  dir: string
  manifest?: Manifest
}

/** Which version to load, and where its files are: for `serve`, `predict` and the like. */
export async function resolveModel(paths: StorePaths, options: ResolveModelOptions = {}): Promise<ResolvedModel> {
  const doc = await readRegistry(paths)
  const model = selectModel(doc, options.model)
  let entry: VersionEntry
  if (options.version !== undefined) {
    entry = resolveVersion(model, options.version)
  } else {
    const stage = options.stage ?? 'Production'
    const holder = stageHolder(model, stage)
    if (!holder) {
      throw notFound(`no ${stage} version of ${model.name}`, {
        hint: `Promote one: morpho promote ${stage} --version N --model ${model.name}.`,
        details: {model: model.name, stage},
      })
    }
    entry = holder
  }
  const v = view(paths, model, entry)
  const manifest = options.verify === false ? undefined : await verifyEntry(paths, model, entry)
  return {name: model.name, entry: v, dir: v.dir, manifest}
}

export function versionDirOf(paths: StorePaths, entry: VersionEntry): string {
  return within(paths.home, ...entry.path.split('/'))
}

function verifyEntry(paths: StorePaths, model: ModelRecord, entry: VersionEntry): Promise<Manifest> {
  return verifyVersion(versionDirOf(paths, entry), {
    label: `${model.name} v${entry.version}`,
    manifestSha256: entry.manifestSha256,
  })
}

function aliasIndex(model: ModelRecord): Map<number, string[]> {
  const index = new Map<number, string[]>()
  for (const alias of Object.keys(model.aliases).sort()) {
    const version = model.aliases[alias]!
    const list = index.get(version)
    if (list) list.push(alias)
    else index.set(version, [alias])
  }
  return index
}

function view(paths: StorePaths, model: ModelRecord, entry: VersionEntry, aliases = aliasIndex(model)): VersionView {
  return {model: model.name, ...entry, aliases: aliases.get(entry.version) ?? [], dir: versionDirOf(paths, entry)}
}

// ---------------------------------------------------------------------------------------------
// Runs

async function readRun(paths: StorePaths, runId: string): Promise<RunRecord> {
  const file = paths.runFile(runId, 'run.json')
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw notFound(`run "${runId}" not found in ${paths.runsDir}`, {
        hint: 'List the runs with morpho runs list.',
        details: {runId},
      })
    }
    throw err
  }
  let run: RunRecord
  try {
    run = JSON.parse(text) as RunRecord
  } catch (err) {
    throw invalidData(`${file} is not valid JSON (${(err as Error).message})`, {details: {runId, file}})
  }
  if (typeof run !== 'object' || run === null || typeof run.problem !== 'string') {
    throw invalidData(`${file} is not a run record`, {details: {runId, file}})
  }
  if (run.status !== 'completed') {
    throw invalidData(
      `run ${runId} is ${JSON.stringify(run.status)}, not completed; only a completed run can be registered`,
      {
        hint: 'Register a run that finished (morpho runs list shows the status of each).',
        details: {runId, status: run.status},
      },
    )
  }
  return {...run, id: runId}
}

async function runModelDir(paths: StorePaths, run: RunRecord): Promise<string> {
  const runDir = paths.runDir(run.id)
  const dir = run.model ? within(runDir, run.model) : paths.runModelDir(run.id)
  const ok = await stat(join(dir, 'model.json')).then(
    (s) => s.isFile(),
    () => false,
  )
  if (!ok) {
    throw invalidData(`run ${run.id} has no saved model (${relative(paths.home, dir)}${sep}model.json is missing)`, {
      hint: 'Only runs that saved their model can be registered; train again to get one.',
      details: {runId: run.id, dir},
    })
  }
  return dir
}

function numericSummary(run: RunRecord): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [key, value] of Object.entries(run.summary ?? {})) {
    if (typeof value === 'number' && Number.isFinite(value)) out[key] = value
  }
  return out
}

function storeRelative(paths: StorePaths, dir: string): string {
  return relative(paths.home, dir).split(sep).join('/')
}

export function fmt(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(4)
}
