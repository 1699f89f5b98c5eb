/**
 * registry.json: the document, its types and the check that a parsed file really is one.
 *
 *   {schemaVersion: 1, models: {<name>: ModelRecord}, history: HistoryEntry[]}
 *
 * The layout is part of morpho's public surface (README "Registry"): fields are only ever
 * added; a change that older readers would misread bumps schemaVersion, and a reader
 * refuses a newer schema instead of guessing.
 */

import type {GateMetric} from './thresholds.js'

export const REGISTRY_SCHEMA_VERSION = 1

export const STAGES = ['None', 'Staging', 'Production', 'Archived'] as const
export type Stage = (typeof STAGES)[number]

/** Why a version was registered, or why it entered its current stage. */
export type Rule =
  | {rule: 'manual'}
  | {rule: 'auto'; metric: GateMetric; threshold: number}
  /** Moved out of its stage because version `by` took that stage (archive-on-promote, rollback). */
  | {rule: 'displaced'; by: number}
  /** Put back into Production by `morpho rollback`; `from` was Production before (if any). */
  | {rule: 'rollback'; from: number | null}

export type RegisteredBy = Extract<Rule, {rule: 'manual'} | {rule: 'auto'}>

export interface VersionEntry {
  version: number
  stage: Stage
  runId: string
  createdAt: string
  updatedAt: string
  description: string | null
  tags: Record<string, string>
  /** The run's summary numbers at registration (val_acc, val_loss, train_loss, …). */
  metrics: Record<string, number>
  params: {problem: string; backend: string; seed: number | null}
  /** The version's folder, relative to the store, with forward slashes: models/<name>/<version>. */
  path: string
  /** sha256 of the version's manifest.json, which itself lists the sha256 of every file. */
  manifestSha256: string
  registeredBy: RegisteredBy
  /** The rule that moved the version into its current stage, and when; absent while it never moved. */
  promotedBy?: Rule & {at: string}
}

export interface ModelRecord {
  name: string
  createdAt: string
  /** The next version number to hand out. Only ever grows, so numbers are never reused. */
  nextVersion: number
  /** alias → version */
  aliases: Record<string, number>
  /** Ascending by version. */
  versions: VersionEntry[]
}

export type HistoryAction = 'register' | 'transition' | 'alias_set' | 'alias_delete' | 'rollback' | 'delete'

export interface Actor {
  user: string
  host: string
  pid: number
}

export interface HistoryEntry {
  /** 1, 2, 3 … over the whole registry: the order in which writes landed. */
  seq: number
  time: string
  model: string
  version: number
  action: HistoryAction
  /**
   * Stage actions (register, transition, rollback, delete): the stage before (null for register)
   * and after (null for delete: the version left the registry).
   * Alias actions: the version the alias pointed at before and after (null when it did not exist / was deleted).
   */
  from: Stage | number | null
  to: Stage | number | null
  alias?: string
  reason: string
  rule: Rule
  /** A version registered by `morpho import`: the archive and the version it was exported from. */
  source?: ImportSource
  actor: Actor
}

/** Where an imported version came from (`morpho export --format archive` in another store). */
export interface ImportSource {
  /** The archive's file name, and the sha256 of its bytes. */
  archive: string
  sha256: string
  /** The model and version it was in the store it was exported from. */
  model: string
  version: number
  exportedAt: string
  exportedBy: {morpho: string; host: string}
}

export interface RegistryDocument {
  schemaVersion: number
  models: Record<string, ModelRecord>
  history: HistoryEntry[]
}

/** The registry without its history: the models, their versions, stages and aliases. */
export type RegistryModels = Omit<RegistryDocument, 'history'>

export function emptyRegistry(): RegistryDocument {
  return {schemaVersion: REGISTRY_SCHEMA_VERSION, models: {}, history: []}
}

export function isStage(value: unknown): value is Stage {
  return typeof value === 'string' && (STAGES as readonly string[]).includes(value)
}

/** The model record called `name`, never something inherited from Object.prototype. */
export function getModel(doc: RegistryModels, name: string): ModelRecord | undefined {
  return Object.hasOwn(doc.models, name) ? doc.models[name] : undefined
}

/**
 * Checks a parsed document and returns the first problem found ("models.spirals.versions[3].stage:
 * expected one of …"), or undefined when it is a valid schema-1 document. The caller has already
 * compared schemaVersion. Written as plain loops: it runs on every read, 10,000 versions included.
 */
export function findProblem(doc: unknown): string | undefined {
  if (!isObject(doc)) return 'the top level is not an object'
  if (!isObject(doc.models)) return 'models: expected an object'
  if (!Array.isArray(doc.history)) return 'history: expected an array'
  for (const name in doc.models) {
    const problem = modelProblem(name, doc.models[name])
    if (problem) return `models.${name}${problem}`
  }
  let lastSeq = 0
  for (let i = 0; i < doc.history.length; i++) {
    const problem = historyProblem(doc.history[i])
    if (problem) return `history[${i}]${problem}`
    const seq = (doc.history[i] as HistoryEntry).seq
    if (seq <= lastSeq) return `history[${i}].seq: ${seq} does not follow ${lastSeq}`
    lastSeq = seq
  }
  return undefined
}

// Allocated once: the checks below run for every version and history entry on every read.
const VERSION_STRINGS = ['runId', 'createdAt', 'updatedAt', 'path', 'manifestSha256'] as const
const ACTIONS: ReadonlySet<string> = new Set<HistoryAction>([
  'register',
  'transition',
  'alias_set',
  'alias_delete',
  'rollback',
  'delete',
])
const RULES: ReadonlySet<string> = new Set<Rule['rule']>(['manual', 'auto', 'displaced', 'rollback'])

function modelProblem(name: string, model: unknown): string | undefined {
  if (!isObject(model)) return ': expected an object'
  if (model.name !== name) return `.name: expected "${name}"`
  if (!isString(model.createdAt)) return '.createdAt: expected a string'
  if (!isPositiveInt(model.nextVersion)) return '.nextVersion: expected a whole number from 1'
  if (!isObject(model.aliases)) return '.aliases: expected an object'
  for (const alias in model.aliases) {
    if (!isPositiveInt(model.aliases[alias])) return `.aliases.${alias}: expected a version number`
  }
  if (!Array.isArray(model.versions)) return '.versions: expected an array'
  let last = 0
  for (let i = 0; i < model.versions.length; i++) {
    const problem = versionProblem(model.versions[i])
    if (problem) return `.versions[${i}]${problem}`
    const version = (model.versions[i] as VersionEntry).version
    if (version <= last) return `.versions[${i}].version: ${version} is not above ${last}`
    last = version
  }
  if (last >= model.nextVersion) return `.nextVersion: ${model.nextVersion} is not above the highest version ${last}`
  return undefined
}

function versionProblem(v: unknown): string | undefined {
  if (!isObject(v)) return ': expected an object'
  if (!isPositiveInt(v.version)) return '.version: expected a whole number from 1'
  if (!isStage(v.stage)) return `.stage: expected one of ${STAGES.join(', ')}`
  for (const key of VERSION_STRINGS) {
    if (!isString(v[key])) return `.${key}: expected a string`
  }
  if (v.description !== null && !isString(v.description)) return '.description: expected a string or null'
  if (!isObject(v.tags)) return '.tags: expected an object'
  for (const k in v.tags) if (!isString(v.tags[k])) return `.tags.${k}: expected a string`
  if (!isObject(v.metrics)) return '.metrics: expected an object'
  for (const k in v.metrics) if (typeof v.metrics[k] !== 'number') return `.metrics.${k}: expected a number`
  if (!isObject(v.params)) return '.params: expected an object'
  const problem = ruleProblem(v.registeredBy)
  if (problem) return `.registeredBy${problem}`
  if (v.promotedBy !== undefined) {
    const promoted = ruleProblem(v.promotedBy)
    if (promoted) return `.promotedBy${promoted}`
  }
  return undefined
}

function historyProblem(h: unknown): string | undefined {
  if (!isObject(h)) return ': expected an object'
  if (!isPositiveInt(h.seq)) return '.seq: expected a whole number from 1'
  if (!isString(h.time) || !isString(h.model) || !isString(h.reason)) return ': time, model and reason must be strings'
  if (!isPositiveInt(h.version)) return '.version: expected a whole number from 1'
  if (!ACTIONS.has(h.action as string)) {
    return `.action: unknown action ${JSON.stringify(h.action)}`
  }
  const problem = ruleProblem(h.rule)
  if (problem) return `.rule${problem}`
  if (!isObject(h.actor)) return '.actor: expected an object'
  return undefined
}

function ruleProblem(r: unknown): string | undefined {
  if (!isObject(r)) return ': expected an object'
  if (!RULES.has(r.rule as string)) {
    return `.rule: unknown rule ${JSON.stringify(r.rule)}`
  }
  return undefined
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isString(value: unknown): value is string {
  return typeof value === 'string'
}

function isPositiveInt(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 1
}
