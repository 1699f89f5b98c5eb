import type {Store} from '../store/store.js'
import type {RunRecord} from '../tracking/types.js'
import {type RegisterResult, registerRun} from './register.js'
import {type PromoteResult, promote} from './stages.js'
import {DEFAULT_REGISTER_AT, DEFAULT_STAGE_AT} from './thresholds.js'
import {fmt} from './tx.js'

/**
 * What `morpho train` does after a run: register the model when val_acc reaches one
 * threshold, promote it to Staging when it reaches another. Each version records the rule
 * (metric and threshold) that registered or promoted it.
 */

export interface AutoRegisterOptions {
  /** Register when val_acc >= this. null turns auto-registration off. Default DEFAULT_REGISTER_AT. */
  registerAt?: number | null
  /** Promote to Staging when val_acc >= this (and the model was registered). null turns it off. Default DEFAULT_STAGE_AT. */
  stageAt?: number | null
  /** Default: the run's problem. */
  model?: string
}

export interface AutoRegisterResult {
  registered?: RegisterResult
  promoted?: PromoteResult
  /** Why nothing was registered. */
  skipped?: string
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
  const valAcc = run.summary?.val_acc
  const skip = (skipped: string): AutoRegisterResult => ({skipped, messages: [`not registered: ${skipped}`]})

  if (registerAt === null) return skip('auto-registration is off')
  if (run.status !== 'completed') return skip(`the run is ${run.status}`)
  if (typeof valAcc !== 'number' || !Number.isFinite(valAcc)) return skip('the run has no val_acc')
  if (valAcc < registerAt) return skip(`val_acc ${fmt(valAcc)} is below ${registerAt}`)

  const registered = await registerRun(store, run.id, {
    model: options.model,
    registeredBy: {rule: 'auto', metric: 'val_acc', threshold: registerAt},
  })
  const messages = [`registered ${registered.model} v${registered.version} (val_acc ${fmt(valAcc)} >= ${registerAt})`]
  if (stageAt === null || valAcc < stageAt) return {registered, messages}

  const promoted = await promote(store, {
    model: registered.model,
    version: registered.version,
    stage: 'Staging',
    promotedBy: {rule: 'auto', metric: 'val_acc', threshold: stageAt},
  })
  const archived = promoted.displaced.map((d) => `v${d.version}`)
  messages.push(
    `promoted v${promoted.version} to Staging (val_acc ${fmt(valAcc)} >= ${stageAt})` +
      (archived.length > 0 ? `; archived ${archived.join(', ')}` : ''),
  )
  return {registered, promoted, messages}
}
