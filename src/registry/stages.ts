import {integrityError, notFound, usageError} from '../errors.js'
import {lowerIsBetter} from '../metrics.js'
import {whyUnservable} from '../model/check.js'
import type {Store} from '../store/store.js'
import {pickBest, type VersionView, verifiedFiles, view} from './queries.js'
import type {HistoryEntry, Rule, Stage, VersionEntry} from './schema.js'
import {findVersion, isMorphoCode, pickModel, resolveVersion, stageHolder, type VersionRef} from './select.js'
import {autoReason, fmt, record, setStage} from './tx.js'

/**
 * Stage changes: promote (archive-on-promote, --no-archive) and rollback, each one registry
 * write, and the replay of the history that rollback follows.
 */

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
  /**
   * Promote only if the version's value of this metric (higher is better) beats every current
   * holder of the stage; otherwise nothing is written and `kept` names the holder. Decided in
   * the same write as the promotion, so of concurrent trainings the best one ends up there,
   * not the last one to finish.
   */
  onlyIfBetter?: string
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
  /**
   * True when nothing changed and nothing was written: the version already was in that stage,
   * or (`kept`) a holder of the stage is at least as good by `onlyIfBetter`'s metric.
   */
  noop: boolean
  displaced: Displaced[]
  entry: VersionView
  /** The holder that stays, when `onlyIfBetter` declined the promotion (`to` is then the version's own stage). */
  kept?: {version: number; metric: string; value: number}
}

/** Moves one version to a stage and the previous holders out of it, in one locked write. */
export async function promote(store: Store, options: PromoteOptions): Promise<PromoteResult> {
  const archive = options.archive ?? true
  const rule = options.promotedBy ?? {rule: 'manual'}
  return store.registry.write(async (tx) => {
    const model = await pickModel(tx, options.model)
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
      const best = pickBest(pool, 'val_acc', lowerIsBetter('val_acc'))
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
        entry: view(store, model, entry),
      }
    }
    if (options.onlyIfBetter !== undefined) {
      const kept = betterHolder(model.versions, entry, to, options.onlyIfBetter)
      if (kept) {
        return {
          model: model.name,
          version: entry.version,
          from,
          to: from,
          noop: true,
          displaced: [],
          entry: view(store, model, entry),
          kept,
        }
      }
    }
    if (to !== 'Archived') await assertPromotable(store, model.name, entry, to)

    await record(tx, {
      model: model.name,
      version: entry.version,
      action: 'transition',
      from,
      to,
      reason: options.reason ?? why,
      rule,
    })
    await setStage(tx, model, entry, to, rule, {shared: to === 'Staging' && !archive})
    const displaced: Displaced[] = []
    const exclusive = to === 'Production' || (to === 'Staging' && archive)
    if (exclusive) {
      for (const other of model.versions) {
        if (other === entry || other.stage !== to) continue
        const next: Stage = archive ? 'Archived' : 'None'
        const by: Rule = {rule: 'displaced', by: entry.version}
        await record(tx, {
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
        await setStage(tx, model, other, next, by)
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
      entry: view(store, model, entry),
    }
  })
}

/** A holder of `stage` whose `metric` is at least `entry`'s (a holder without it never is). */
function betterHolder(
  versions: readonly VersionEntry[],
  entry: VersionEntry,
  stage: Stage,
  metric: string,
): {version: number; metric: string; value: number} | undefined {
  const mine = entry.metrics[metric]
  const own = typeof mine === 'number' && Number.isFinite(mine) ? mine : Number.NEGATIVE_INFINITY
  for (const other of versions) {
    if (other === entry || other.stage !== stage) continue
    const value = other.metrics[metric]
    if (typeof value === 'number' && Number.isFinite(value) && value >= own) {
      return {version: other.version, metric, value}
    }
  }
  return undefined
}

/**
 * A version may go to Staging or Production only if its files match their manifest and its
 * model loads and predicts: a server following that stage would otherwise fail to start (a
 * version registered before registration checked this, say).
 */
async function assertPromotable(store: Store, model: string, entry: VersionEntry, to: Stage): Promise<void> {
  const {files} = await verifiedFiles(store, model, entry)
  const problem = whyUnservable(files, entry.path)
  if (problem === undefined) return
  throw integrityError(`Refusing to promote ${model} v${entry.version} to ${to}: its model does not load: ${problem}`, {
    hint: 'Its files match their checksums, so the model itself is broken: promote another version (it can still be archived).',
    details: {model, version: entry.version, problem},
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
export async function rollback(store: Store, options: {model?: string; reason?: string} = {}): Promise<RollbackResult> {
  return store.registry.write(async (tx) => {
    const model = await pickModel(tx, options.model)
    const current = stageHolder(model, 'Production')
    const skipped: {version: number; reason: string}[] = []
    let target: VersionEntry | undefined
    const seen = new Set<number>()
    for (const version of productionStack(await tx.history(model.name), model.name).reverse()) {
      if (version === current?.version || seen.has(version)) continue
      seen.add(version)
      const candidate = findVersion(model, version)
      if (!candidate) continue
      try {
        await assertPromotable(store, model.name, candidate, 'Production')
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
    await record(tx, {
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
    await setStage(tx, model, target, 'Production', rule)
    if (current) {
      const by: Rule = {rule: 'displaced', by: target.version}
      await record(tx, {
        model: model.name,
        version: current.version,
        action: 'transition',
        from: 'Production',
        to: 'Archived',
        reason: `archived by rollback to v${target.version}`,
        rule: by,
      })
      await setStage(tx, model, current, 'Archived', by)
    }
    return {
      model: model.name,
      version: target.version,
      from: current?.version ?? null,
      skipped,
      entry: view(store, model, target),
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
    } else if (e.action === 'delete') {
      // A deleted version is never put back.
      for (let at = stack.indexOf(e.version); at >= 0; at = stack.indexOf(e.version)) stack.splice(at, 1)
    }
  }
  return stack
}
