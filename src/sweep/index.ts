import {parseOption} from '../option-spec.js'
import {registerRun} from '../registry/register.js'
import {resolveTrainOptions, type TrainOptions} from '../training/options.js'
import {buildPlan, grid, readSweepFile, type SweepPlan, specFor} from './config.js'
import {parseSweepMetric} from './metrics.js'
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
}

export interface SweepOutcome extends SweepResult {
  registered?: {model: string; version: number; runId: string}
}

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

export async function sweep(
  request: SweepRequest,
  run: Omit<SweepInput, 'plan' | 'metric' | 'lowerIsBetter' | 'parallel'>,
): Promise<SweepOutcome> {
  const {plan} = await planSweep(request)
  const metric = parseSweepMetric(request.metric ?? plan.metric ?? 'val_acc')
  const lowerIsBetter = request.lowerIsBetter ?? plan.lowerIsBetter ?? metric.endsWith('loss')
  const result = await runSweep({
    ...run,
    plan,
    metric,
    lowerIsBetter,
    parallel: request.parallel ?? plan.parallel ?? 1,
  })
  if (!request.registerBest || !result.best?.runId) return result
  const registered = await registerRun(run.store, result.best.runId, {
    model: request.model,
    tags: {sweep: result.id},
    reason: `best of ${result.id} by ${metric}`,
  })
  return {...result, registered: {model: registered.model, version: registered.version, runId: result.best.runId}}
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
