import {Registry} from 'prom-client'
import {asMorphoError, usageError} from '../errors.js'
import {startMetricsServer} from '../monitoring/metrics-server.js'
import {TrainingMetrics} from '../monitoring/training-metrics.js'
import {type AutoRegisterResult, autoRegister} from '../registry/auto.js'
import type {GateMetric} from '../registry/thresholds.js'
import {fmt} from '../registry/tx.js'
import {type TrainRunInput, type TrainRunResult, trainRun} from '../tracking/tracked-run.js'

export interface RegistrationPolicy {
  /** null: never register automatically. */
  registerAt: number | null
  /** null: never promote to Staging automatically. */
  stageAt: number | null
  model?: string
  /** The summary metric registerAt and stageAt compare. Default val_acc. */
  gateMetric?: GateMetric
  /** The run fails its gate when val_acc is below this: nothing is then registered or promoted. */
  minValAcc?: number
}

/** The --min-val-acc gate, decided before anything touches the registry. */
export interface GateResult {
  metric: 'val_acc'
  value: number
  threshold: number
  passed: boolean
}

export interface MetricsExposure {
  port: number
  host?: string
  /** Told the URL once the endpoint listens. */
  onListening?(url: string): void
}

export interface TrainOutcome {
  run: TrainRunResult
  /** Present with --min-val-acc. */
  gate?: GateResult
  registry: AutoRegisterResult | {error: {code: string; message: string}; messages: string[]}
}

/**
 * `morpho train`: a tracked run, then its gate, then the automatic registration policy. A
 * run that fails its gate registers and promotes nothing (the registry is not even read);
 * the caller turns `gate.passed === false` into its exit code. A registry failure (busy,
 * corrupt) does not lose the run: it is reported with the outcome, and the run can be
 * registered later with `morpho register <run-id>`.
 */
export async function trainAndRegister(
  input: TrainRunInput,
  policy: RegistrationPolicy,
  metrics?: MetricsExposure,
): Promise<TrainOutcome> {
  checkPolicy(input, policy)
  const run = metrics ? await withMetricsEndpoint(input, metrics) : await trainRun(input)
  const gate =
    policy.minValAcc === undefined
      ? undefined
      : {
          metric: 'val_acc' as const,
          value: run.summary.val_acc,
          threshold: policy.minValAcc,
          passed: run.summary.val_acc >= policy.minValAcc,
        }
  if (gate && !gate.passed) {
    const skipped = `val_acc ${fmt(gate.value)} is below --min-val-acc ${gate.threshold}`
    return {run, gate, registry: {skipped, messages: [`not registered: ${skipped}`]}}
  }
  try {
    const record = await input.store.runs.get(run.runId)
    const registry = await autoRegister(input.store, record, {...policy, metric: policy.gateMetric})
    return {run, ...(gate ? {gate} : {}), registry}
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

/** A gate on test_acc needs a test set: refused before anything is trained. */
function checkPolicy(input: TrainRunInput, policy: RegistrationPolicy): void {
  const {options} = input
  const noTest = options.data ? options.testFrac === 0 : options.testSamples === 0
  const gated = policy.registerAt !== null || policy.stageAt !== null
  if (policy.gateMetric === 'test_acc' && gated && noTest) {
    throw usageError('--gate-metric test_acc needs a test set, and this run has none', {
      hint: options.data ? 'Give --test-frac above 0.' : 'Leave out --test-samples 0.',
      details: {flag: 'gate-metric', value: 'test_acc'},
    })
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
