import type {Store} from '../store/store.js'
import type {RunRecord} from '../tracking/types.js'
import {type RegisterResult, registerRun} from './register.js'
import {type PromoteResult, promote} from './stages.js'
import {DEFAULT_REGISTER_AT, DEFAULT_STAGE_AT, type GateMetric} from './thresholds.js'
import {fmt} from './tx.js'

/**
 * What `morpho train` does after a run: register the model when its gate metric (val_acc
 * unless told otherwise) reaches one threshold, promote it to Staging when it reaches
 * another — unless the version in Staging already has that metric at least as high (it
 * stays). Each version records the rule (metric and threshold) that registered or promoted it.
 */

export interface AutoRegisterOptions {
  /** Register when the metric >= this. null turns auto-registration off. Default DEFAULT_REGISTER_AT. */
  registerAt?: number | null
  /** Promote to Staging when the metric >= this (and the model was registered). null turns it off. Default DEFAULT_STAGE_AT. */
  stageAt?: number | null
  /** Default: the run's problem. */
  model?: string
  /** The summary metric both thresholds compare. Default val_acc. */
  metric?: GateMetric
}

export interface AutoRegisterResult {
  registered?: RegisterResult
  promoted?: PromoteResult
  /** Why nothing was registered. */
  skipped?: string
  /** Why the registered version was not promoted to Staging: a holder at least as good stays. */
  notStaged?: string
  /** One line per thing that happened, for the train command to print. */
  messages: string[]
}

/**
 * Errors (registry busy, corrupt registry, invalid model name) propagate: the run is already
 * saved, and the caller decides how to report that the registration did not happen.
 */
export async function autoRegister(
  store: Store,
  run: RunRecord,
  options: AutoRegisterOptions = {},
): Promise<AutoRegisterResult> {
  const registerAt = options.registerAt === undefined ? DEFAULT_REGISTER_AT : options.registerAt
  const stageAt = options.stageAt === undefined ? DEFAULT_STAGE_AT : options.stageAt
  const metric = options.metric ?? 'val_acc'
  const value = run.summary?.[metric]
  const skip = (skipped: string): AutoRegisterResult => ({skipped, messages: [`not registered: ${skipped}`]})

  if (registerAt === null) return skip('auto-registration is off')
  if (run.status !== 'completed') return skip(`the run is ${run.status}`)
  if (typeof value !== 'number' || !Number.isFinite(value)) return skip(`the run has no ${metric}`)
  if (value < registerAt) return skip(`${metric} ${fmt(value)} is below ${registerAt}`)

  const registered = await registerRun(store, run.id, {
    model: options.model,
    registeredBy: {rule: 'auto', metric, threshold: registerAt},
  })
  const messages = [`registered ${registered.model} v${registered.version} (${metric} ${fmt(value)} >= ${registerAt})`]
  if (stageAt === null || value < stageAt) return {registered, messages}

  const promoted = await promote(store, {
    model: registered.model,
    version: registered.version,
    stage: 'Staging',
    promotedBy: {rule: 'auto', metric, threshold: stageAt},
    // Concurrent trainings: the best of them holds Staging, not the last to finish.
    onlyIfBetter: metric,
  })
  if (promoted.kept) {
    const notStaged = `v${promoted.kept.version} holds Staging with ${metric} ${fmt(promoted.kept.value)} >= ${fmt(value)}`
    messages.push(`not promoted to Staging: ${notStaged}`)
    return {registered, notStaged, messages}
  }
  const archived = promoted.displaced.map((d) => `v${d.version}`)
  messages.push(
    `promoted v${promoted.version} to Staging (${metric} ${fmt(value)} >= ${stageAt})` +
      (archived.length > 0 ? `; archived ${archived.join(', ')}` : ''),
  )
  return {registered, promoted, messages}
}
