import {Flags, type Interfaces} from '@oclif/core'
import {OPTION_SPECS, type TrainOptions} from '../training/options.js'

/**
 * oclif flags for every training option, generated from the option table so the flags,
 * their defaults in --help and the sweep keys always agree. Values arrive as text and are
 * parsed and range-checked by resolveTrainOptions (one place, one error style).
 */
export function trainOptionFlags(): Record<string, Interfaces.OptionFlag<string | undefined>> {
  const flags: Record<string, Interfaces.OptionFlag<string | undefined>> = {}
  for (const spec of OPTION_SPECS) {
    const shown = Array.isArray(spec.default) ? spec.default.join(',') : spec.default
    flags[spec.flag] = Flags.string({
      description: spec.description + (shown === undefined ? '' : ` [default: ${shown}]`),
      helpGroup: spec.group.toUpperCase(),
      ...(spec.aliases ? {aliases: spec.aliases} : {}),
      ...(spec.choices ? {options: [...spec.choices]} : {}),
      ...(spec.key === 'problem' ? {exclusive: ['data']} : {}),
      ...(spec.key === 'data' ? {exclusive: ['problem']} : {}),
    })
  }
  return flags
}

/** Flag values (by kebab name) → option values by key, leaving out flags not given. */
export function optionsFromFlags(flags: Record<string, unknown>): Partial<Record<keyof TrainOptions, unknown>> {
  const out: Partial<Record<keyof TrainOptions, unknown>> = {}
  for (const spec of OPTION_SPECS) {
    if (flags[spec.flag] !== undefined) out[spec.key] = flags[spec.flag]
  }
  return out
}
