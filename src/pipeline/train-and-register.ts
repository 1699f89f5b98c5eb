import {Registry} from 'prom-client'
import {asMorphoError} from '../errors.js'
import {startMetricsServer} from '../monitoring/metrics-server.js'
import {TrainingMetrics} from '../monitoring/training-metrics.js'
import {type AutoRegisterResult, autoRegister} from '../registry/auto.js'
import {type TrainRunInput, type TrainRunResult, trainRun} from '../tracking/tracked-run.js'

export interface RegistrationPolicy {
  /** null: never register automatically. */
  registerAt: number | null
  /** null: never promote to Staging automatically. */
  stageAt: number | null
  model?: string
}

export interface MetricsExposure {
  port: number
  host?: string
  /** Told the URL once the endpoint listens. */
  onListening?(url: string): void
}

export interface TrainOutcome {
  run: TrainRunResult
  registry: AutoRegisterResult | {error: {code: string; message: string}; messages: string[]}
}

/**
 * `morpho train`: a tracked run, then the automatic registration policy. A registry
 * failure (busy, corrupt) does not lose the run: it is reported with the outcome, and the
 * run can be registered later with `morpho register <run-id>`.
 */
export async function trainAndRegister(
  input: TrainRunInput,
  policy: RegistrationPolicy,
  metrics?: MetricsExposure,
): Promise<TrainOutcome> {
  const run = metrics ? await withMetricsEndpoint(input, metrics) : await trainRun(input)
  try {
    const record = await input.store.runs.get(run.runId)
    const registry = await autoRegister(input.store, record, policy)
    return {run, registry}
  } catch (err) {
    const e = asMorphoError(err)
    return {
      run,
      registry: {
        error: {code: e.code, message: e.message},
        messages: [`not registered: ${e.message} (register later with \`morpho register ${run.runId}\`)`],
      },
    }
  }
}

/** The run's gauges and counters on /metrics for as long as it lasts (--metrics-port). */
async function withMetricsEndpoint(input: TrainRunInput, exposure: MetricsExposure): Promise<TrainRunResult> {
  const registry = new Registry()
  const server = await startMetricsServer(registry, {port: exposure.port, host: exposure.host})
  exposure.onListening?.(server.url)
  try {
    return await trainRun({...input, observers: [...(input.observers ?? []), new TrainingMetrics(registry)]})
  } finally {
    await server.close()
  }
}
