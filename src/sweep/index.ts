import {createHash, randomBytes} from 'node:crypto'
import {lowerIsBetter as metricLowerIsBetter} from '../metrics.js'
import {parseOption} from '../option-spec.js'
import {registerRun} from '../registry/register.js'
import type {Store} from '../store/store.js'
import {resolveTrainOptions, type TrainOptions} from '../training/options.js'
import {buildPlan, grid, readSweepFile, type SweepPlan, specFor} from './config.js'
import {parseSweepMetric} from './metrics.js'
import {claimRegistration, markRegistered, readSweep, reportOf, type SweepReport} from './record.js'
import {runSweep, type SweepInput, type SweepResult} from './run.js'

export interface SweepRequest {
  config?: string
  params?: string[]
  /**
   * Training option values (by option key, typed or as text) for every run whose combination
   * does not set that option: the command line under the sweep, as the original runner's
   * --sweep_config had it.
   */
  base?: Partial<Record<keyof TrainOptions, unknown>>
  metric?: string
  lowerIsBetter?: boolean
  parallel?: number
  registerBest?: boolean
  model?: string
  /** Run only this share of the grid (see SweepInput.shard); every shard gives the same grid. */
  shard?: {index: number; count: number}
  /** The sweep's id [default: new for each sweep; for a sharded one, derived from the grid]. */
  id?: string
}

export type SweepOutcome = SweepResult

/** Reads and checks the whole sweep (every combination resolves) before a single run starts. */
export async function planSweep(request: SweepRequest): Promise<{plan: SweepPlan; combos: number}> {
  const file = request.config === undefined ? undefined : await readSweepFile(request.config)
  const plan = buildPlan({file, fileName: request.config, params: request.params})
  addBase(plan, request.base ?? {})
  const fixed = Object.fromEntries(plan.fixed.map((f) => [f.key, f.value]))
  const combos = grid(plan.axes)
  for (const combo of combos) {
    const byKey: Partial<Record<keyof TrainOptions, unknown>> = {...fixed}
    for (const axis of plan.axes) byKey[axis.key] = combo[axis.flag]
    resolveTrainOptions(byKey)
  }
  parseSweepMetric(request.metric ?? plan.metric ?? 'val_acc')
  return {plan, combos: combos.length}
}

/**
 * `morpho sweep`: runs the grid (or this shard's share of it) as tracked runs, recording each
 * in the store's sweep document, and with registerBest registers the best run once the whole
 * grid has finished, whichever shard finishes it.
 */
export async function sweep(
  request: SweepRequest,
  run: Omit<SweepInput, 'plan' | 'metric' | 'lowerIsBetter' | 'parallel' | 'id' | 'shard'>,
): Promise<SweepOutcome> {
  const {plan} = await planSweep(request)
  const metric = parseSweepMetric(request.metric ?? plan.metric ?? 'val_acc')
  const lowerIsBetter = request.lowerIsBetter ?? plan.lowerIsBetter ?? metricLowerIsBetter(metric)
  const id = request.id ?? (request.shard ? gridId(plan, metric, lowerIsBetter) : newSweepId())
  const result = await runSweep({
    ...run,
    plan,
    metric,
    lowerIsBetter,
    id,
    shard: request.shard,
    parallel: request.parallel ?? plan.parallel ?? 1,
  })
  if (!request.registerBest || run.signal?.aborted) return result
  const registered = await registerBestOnce(run.store, id, request.model)
  return registered ? {...result, ...registered} : result
}

/** Registers the sweep's best run if the grid is complete and no one has yet; else undefined. */
export async function registerBestOnce(store: Store, id: string, model?: string): Promise<SweepReport | undefined> {
  const claimed = await claimRegistration(store, id)
  if (!claimed?.best?.runId) return undefined
  const registered = await registerRun(store, claimed.best.runId, {
    model,
    tags: {sweep: id},
    reason: `best of ${id} by ${claimed.metric}`,
  })
  return markRegistered(store, id, {model: registered.model, version: registered.version, runId: claimed.best.runId})
}

/** `morpho sweep report ID` / `morpho sweeps show ID`: the grid ranked from the store. */
export async function sweepReport(
  store: Store,
  id: string,
  options: {registerBest?: boolean; model?: string} = {},
): Promise<SweepReport & {plan: SweepPlan; createdAt: string}> {
  const doc = await readSweep(store, id)
  const report = (options.registerBest && (await registerBestOnce(store, id, options.model))) || reportOf(doc)
  return {...report, plan: doc.plan, createdAt: doc.createdAt}
}

function newSweepId(): string {
  return `sweep-${new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)}-${randomBytes(3).toString('hex')}`
}

/** Every shard of one grid finds the same id without being told it. */
function gridId(plan: SweepPlan, metric: string, lowerIsBetter: boolean): string {
  const hash = createHash('sha256')
    .update(JSON.stringify([plan.axes, plan.fixed, metric, lowerIsBetter]))
    .digest('hex')
  return `sweep-${hash.slice(0, 12)}`
}

function addBase(plan: SweepPlan, base: Partial<Record<keyof TrainOptions, unknown>>): void {
  const set = new Set<string>([...plan.axes.map((a) => a.key), ...plan.fixed.map((f) => f.key)])
  for (const [key, raw] of Object.entries(base)) {
    const spec = specFor(key, 'the command line')
    if (set.has(spec.key) || raw === undefined) continue
    set.add(spec.key)
    plan.fixed.push({flag: spec.flag, key: spec.key, value: parseOption(spec, raw)})
  }
}
