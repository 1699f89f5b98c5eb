/**
 * The serving constants commands need before anything runs (flag defaults and choices),
 * apart from the modules that load the HTTP client, prom-client or TF.js.
 */

export const SERVE_DEFAULTS = {
  host: '127.0.0.1',
  port: 8080,
  watchIntervalMs: 2000,
  maxBodyBytes: 1024 * 1024,
  maxBatchRows: 4096,
  shutdownTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  maxConnections: 1024,
} as const

export type PredictorChoice = 'auto' | 'tfjs' | 'js'
export const PREDICTOR_CHOICES: readonly PredictorChoice[] = ['auto', 'tfjs', 'js']

/** Where `morpho health` and `morpho predict --url` look by default. */
export const DEFAULT_URL = 'http://127.0.0.1:8080'
