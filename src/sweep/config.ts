import {readFile} from 'node:fs/promises'
import {parse as parseYaml} from 'yaml'
import {invalidData, usageError} from '../errors.js'
import {parseOption} from '../option-spec.js'
import {nearest} from '../suggest.js'
import {OPTION_BY_FLAG, OPTION_BY_KEY, type TrainOptionSpec, type TrainOptions} from '../training/options.js'

/**
 * A sweep: the Cartesian grid of training-flag values, each combination one tracked run.
 *
 * File form (YAML or JSON):
 *   parameters: {hidden-dim: [32, 64], lr: "0.001,0.003"}   # swept; lists or comma strings
 *   fixed: {problem: moons, warm-up-epochs: 20}             # applied to every run
 *   metric: val_acc          lower_is_better: false          parallel: 2
 * A file without `parameters` is read the original's way: every key is a swept flag.
 * Keys are flag names (kebab-case, leading dashes allowed; the original's snake_case too) or
 * option names (camelCase).
 * Everything is validated before anything runs.
 */

export type SweepValue = TrainOptions[keyof TrainOptions]

export interface SweepAxis {
  flag: string
  key: keyof TrainOptions
  values: SweepValue[]
}

export interface SweepPlan {
  axes: SweepAxis[]
  fixed: {flag: string; key: keyof TrainOptions; value: SweepValue}[]
  metric?: string
  lowerIsBetter?: boolean
  parallel?: number
}

const FILE_KEYS = new Set(['parameters', 'fixed', 'metric', 'lower_is_better', 'lowerIsBetter', 'parallel'])
/** Flags a sweep sets itself, or that make no sense per run. */
const RESERVED = new Set(['data'])

export function specFor(name: string, where: string): TrainOptionSpec {
  const bare = name.replace(/^-+/, '')
  // The original's flags were snake_case (--num_layers): accepted as their kebab-case twins.
  const spec =
    OPTION_BY_FLAG.get(bare) ??
    OPTION_BY_FLAG.get(bare.replace(/_/g, '-')) ??
    OPTION_BY_KEY.get(bare as keyof TrainOptions)
  if (!spec) {
    const near = nearest(bare, OPTION_BY_FLAG.keys())
    throw usageError(`Unknown training flag "${name}" in ${where}`, {
      hint: near
        ? `Did you mean ${near}? The flag names are those of morpho train --help.`
        : 'Use the flag names of morpho train --help, e.g. hidden-dim, lr, seeds-per-layer.',
      details: {key: name},
    })
  }
  return spec
}

function valuesOf(spec: TrainOptionSpec, raw: unknown, where: string): SweepValue[] {
  // sphere-radii takes a comma list itself, so its sweep values are a list of lists or strings.
  const items =
    spec.kind === 'radii'
      ? Array.isArray(raw)
        ? raw
        : [raw]
      : Array.isArray(raw)
        ? raw
        : typeof raw === 'string'
          ? raw.split(',').map((s) => s.trim())
          : [raw]
  if (items.length === 0) throw usageError(`${spec.flag} in ${where} has no values`, {details: {key: spec.flag}})
  return items.map((item) => {
    try {
      return parseOption(spec, item)
    } catch (err) {
      throw usageError(`Bad value for ${spec.flag} in ${where}: ${JSON.stringify(item)}`, {
        hint: (err as {hint?: string}).hint,
        details: {key: spec.flag, value: item},
      })
    }
  })
}

/** Builds a plan from `--param name=v1,v2` items and/or a parsed file; throws before any run. */
export function buildPlan(input: {file?: unknown; fileName?: string; params?: string[]}): SweepPlan {
  const plan: SweepPlan = {axes: [], fixed: []}
  const seen = new Set<string>()
  const addAxis = (name: string, raw: unknown, where: string) => {
    const spec = specFor(name, where)
    if (RESERVED.has(spec.flag)) throw usageError(`${spec.flag} cannot be swept`, {details: {key: name}})
    if (seen.has(spec.key)) throw usageError(`${spec.flag} is given twice in the sweep`, {details: {key: name}})
    seen.add(spec.key)
    plan.axes.push({flag: spec.flag, key: spec.key, values: valuesOf(spec, raw, where)})
  }

  if (input.file !== undefined) {
    const where = input.fileName ?? 'the sweep file'
    if (typeof input.file !== 'object' || input.file === null || Array.isArray(input.file)) {
      throw invalidData(`${where} must be a mapping of flags to values`, {
        hint: 'See `morpho sweep --help` for the format.',
      })
    }
    const doc = input.file as Record<string, unknown>
    const structured = 'parameters' in doc
    if (structured) {
      for (const key of Object.keys(doc)) {
        if (!FILE_KEYS.has(key)) {
          const near = nearest(key, FILE_KEYS)
          throw usageError(`Unknown key "${key}" in ${where}`, {
            hint: `${near ? `Did you mean ${near}? ` : ''}Top-level keys are: ${[...FILE_KEYS].join(', ')}.`,
            details: {key},
          })
        }
      }
      const params = doc.parameters
      if (typeof params !== 'object' || params === null || Array.isArray(params)) {
        throw usageError(`"parameters" in ${where} must map flags to lists of values`, {details: {key: 'parameters'}})
      }
      for (const [name, raw] of Object.entries(params)) addAxis(name, raw, where)
      const fixed = (doc.fixed ?? {}) as Record<string, unknown>
      for (const [name, raw] of Object.entries(fixed)) {
        const spec = specFor(name, where)
        if (seen.has(spec.key))
          throw usageError(`${spec.flag} is both swept and fixed in ${where}`, {details: {key: name}})
        seen.add(spec.key)
        plan.fixed.push({flag: spec.flag, key: spec.key, value: valuesOf(spec, raw, where)[0]})
      }
      if (doc.metric !== undefined) plan.metric = String(doc.metric)
      const lower = doc.lower_is_better ?? doc.lowerIsBetter
      if (lower !== undefined) plan.lowerIsBetter = lower === true || lower === 'true'
      if (doc.parallel !== undefined) plan.parallel = Number(doc.parallel)
    } else {
      for (const [name, raw] of Object.entries(doc)) addAxis(name, raw, where)
    }
  }
  for (const item of input.params ?? []) {
    const [name, value] = splitAssignment(item, '--param', 'name=v1,v2,…', 'lr=0.001,0.003')
    addAxis(name, value, '--param')
  }
  if (plan.axes.length === 0) {
    throw usageError('Nothing to sweep', {hint: 'Give --config sweep.yaml or at least one --param name=v1,v2.'})
  }
  return plan
}

/** `name=value` split on the first "=" (a value may hold more), or a usage error naming `flag`. */
export function splitAssignment(item: string, flag: string, form: string, example: string): [string, string] {
  const eq = item.indexOf('=')
  if (eq <= 0) {
    throw usageError(`${flag} needs ${form}: ${JSON.stringify(item)}`, {hint: `For example ${flag} ${example}.`})
  }
  return [item.slice(0, eq), item.slice(eq + 1)]
}

export async function readSweepFile(path: string): Promise<unknown> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw invalidData(`Cannot read sweep file ${path}: ${code === 'EISDIR' ? 'it is a folder' : (code ?? err)}`, {
      hint:
        code === 'EISDIR'
          ? 'Give one sweep file; for a folder of them, run one sweep per file.'
          : 'Check the path of the sweep file.',
    })
  }
  try {
    return path.endsWith('.json') ? JSON.parse(text) : parseYaml(text)
  } catch (err) {
    throw invalidData(
      `${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`,
      {
        hint: 'Fix the syntax; `morpho sweep --help` shows the format.',
      },
    )
  }
}

/** Every combination, in a stable order (the first axis varies slowest). */
export function grid(axes: SweepAxis[]): Record<string, SweepValue>[] {
  let combos: Record<string, SweepValue>[] = [{}]
  for (const axis of axes) {
    combos = combos.flatMap((c) => axis.values.map((v) => ({...c, [axis.flag]: v})))
  }
  return combos
}
