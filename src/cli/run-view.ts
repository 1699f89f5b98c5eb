import type {EpochView, RunView} from '../contract/runs.js'
import {defaultOf} from '../option-spec.js'
import {OPTION_BY_KEY, optionApplies} from '../training/options.js'

/** What `runs show` prints without --params and --epochs: the parameters set, the epochs that matter. */

export interface ParamRows {
  rows: [string, string][]
  /** Parameters left out because they kept their defaults. */
  atDefault: number
}

/**
 * The run's parameters by flag name, only those that apply to its data (an older record keeps
 * every option); `all`: every one, else only those set away from their defaults.
 */
export function paramRows(run: Pick<RunView, 'params' | 'data' | 'problem'>, all: boolean): ParamRows {
  const data = {kind: run.data?.kind === 'csv' ? ('csv' as const) : ('generated' as const), problem: run.problem}
  const rows: [string, string][] = []
  let atDefault = 0
  for (const [key, value] of Object.entries(run.params)) {
    const spec = OPTION_BY_KEY.get(key as never)
    if (spec && !optionApplies(spec, data)) continue
    const shown = Array.isArray(value) ? value.join(',') : String(value)
    const fallback = spec ? defaultOf(spec) : undefined
    if (
      !all &&
      spec &&
      fallback !== undefined &&
      shown === (Array.isArray(fallback) ? fallback.join(',') : String(fallback))
    ) {
      atDefault++
      continue
    }
    rows.push([spec ? `--${spec.flag}` : key, shown])
  }
  return {rows, atDefault}
}

/** Every epoch, or only the first, the saved one and the last. */
export function epochRows(metrics: readonly EpochView[], selected: number | undefined, all: boolean): EpochView[] {
  if (all || metrics.length <= 3) return [...metrics]
  const keep = new Set([metrics[0]!.epoch, selected, metrics.at(-1)!.epoch])
  return metrics.filter((m) => keep.has(m.epoch))
}
