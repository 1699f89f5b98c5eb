import {hostname, userInfo} from 'node:os'
import type {RegistryWriteTx, StagedVersion} from '../store/store.js'
import {metric} from '../text.js'
import type {Actor, HistoryEntry, ModelRecord, Rule, Stage, VersionEntry} from './schema.js'

/**
 * What every registry write shares, whatever the backend: who wrote it (the history's actor),
 * the history entry every change appends, and how a version changes stage.
 */

let cachedActor: Actor | undefined
export function actor(): Actor {
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

export function record(
  tx: RegistryWriteTx,
  entry: Omit<HistoryEntry, 'seq' | 'time' | 'actor'>,
): Promise<HistoryEntry> {
  return tx.appendHistory({time: tx.time, ...entry, actor: actor()})
}

/** The model by that name, created empty in this write when the registry has none yet. */
export async function modelOrNew(tx: RegistryWriteTx, name: string): Promise<ModelRecord> {
  const found = await tx.model(name)
  if (found) return found
  const model: ModelRecord = {name, createdAt: tx.time, nextVersion: 1, aliases: {}, versions: []}
  await tx.insertModel(model)
  return model
}

/**
 * Adds the version `build` makes under the model's next number, with its staged files, and
 * records its registration (None, from nothing) in the history.
 */
export async function addVersion(
  tx: RegistryWriteTx,
  model: ModelRecord,
  build: (version: number) => VersionEntry,
  staged: StagedVersion,
  history: (entry: VersionEntry) => Pick<HistoryEntry, 'reason' | 'rule' | 'source'>,
): Promise<VersionEntry> {
  const entry = build(model.nextVersion)
  model.versions.push(entry)
  model.nextVersion = entry.version + 1
  await tx.insertVersion(model, entry, staged)
  await record(tx, {
    model: model.name,
    version: entry.version,
    action: 'register',
    from: null,
    to: 'None',
    ...history(entry),
  })
  return entry
}

export function setStage(
  tx: RegistryWriteTx,
  model: ModelRecord,
  entry: VersionEntry,
  stage: Stage,
  rule: Rule,
  options: {shared?: boolean} = {},
): Promise<void> {
  entry.stage = stage
  entry.updatedAt = tx.time
  entry.promotedBy = {...rule, at: tx.time}
  return tx.updateVersion(model, entry, options)
}

export function autoReason(entry: VersionEntry, rule: Extract<Rule, {rule: 'auto'}>): string {
  const value = entry.metrics[rule.metric]
  return `auto: ${rule.metric} ${value === undefined ? 'n/a' : fmt(value)} >= ${rule.threshold}`
}

/** A measured value as every view prints it (text.ts `metric`: 4 decimals, whole ones too). */
export const fmt = (value: number): string => metric(value)
