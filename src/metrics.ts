/**
 * Which way a metric is better, by its name — one rule for `best`, `promote` without
 * --version, `sweep` and the page (which gets it from /api/info). Losses, calibration and
 * error rates, an accuracy dip and the epochs to recover from it are better small; accuracy
 * and everything else is better large.
 */
export const LOWER_IS_BETTER = {
  /** A metric whose name ends with one of these: `val_loss`, `test_ece`, `val_error`. */
  suffixes: ['loss', 'ece', 'error'],
  /** And these, by name. */
  names: ['accuracy_dip', 'recovery_epochs'],
} as const

export function lowerIsBetter(metric: string): boolean {
  return (
    (LOWER_IS_BETTER.names as readonly string[]).includes(metric) ||
    LOWER_IS_BETTER.suffixes.some((s) => metric === s || metric.endsWith(`_${s}`))
  )
}
