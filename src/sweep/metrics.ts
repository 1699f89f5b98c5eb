import {usageError} from '../errors.js'

/** Summary numbers a sweep can rank by. */
export const SWEEP_METRICS = [
  'val_acc',
  'val_loss',
  'best_val_acc',
  'best_val_loss',
  'train_loss',
  'test_acc',
  'test_loss',
  'test_ece',
  'seeds_germinated',
  'parameters',
] as const
export type SweepMetric = (typeof SWEEP_METRICS)[number]

export function parseSweepMetric(name: string): SweepMetric {
  if (!(SWEEP_METRICS as readonly string[]).includes(name)) {
    throw usageError(`Unknown metric "${name}"`, {
      hint: `Rank by one of: ${SWEEP_METRICS.join(', ')}.`,
      details: {key: 'metric'},
    })
  }
  return name as SweepMetric
}
