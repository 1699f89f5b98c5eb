import {usageError} from '../errors.js'

/**
 * The automatic registration policy's defaults: a run's model is registered when val_acc
 * reaches DEFAULT_REGISTER_AT and promoted to Staging at DEFAULT_STAGE_AT. Kept apart from
 * the registry code so the train command's help can show them without loading it.
 */
export const DEFAULT_REGISTER_AT = 0.7
export const DEFAULT_STAGE_AT = 0.9

/** The summary metrics the thresholds can compare: validation accuracy (the default) or test accuracy. */
export const GATE_METRICS = ['val_acc', 'test_acc'] as const
export type GateMetric = (typeof GATE_METRICS)[number]

/** A threshold flag's value: a fraction from 0 to 1, or "off" (null). */
export function parseThreshold(flag: string, raw: string): number | null {
  return raw.trim().toLowerCase() === 'off' ? null : parseFraction(flag, raw, ' or off')
}

export function parseFraction(flag: string, raw: string, orOff = ''): number {
  const value = Number(raw)
  if (raw.trim() === '' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw usageError(`--${flag} needs a number from 0 to 1${orOff}: ${JSON.stringify(raw)}`, {
      hint: `For example --${flag} 0.85.`,
    })
  }
  return value
}
