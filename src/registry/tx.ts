import {hostname, userInfo} from 'node:os'
import type {RegistryWriteTx} from '../store/store.js'
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
