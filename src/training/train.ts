import {MorphoError} from '../errors.js'
import {type AutoRegisterResult, autoRegister} from '../registry/auto.js'
import {readRunRecord} from '../tracking/runs.js'
import {type TrainRunInput, type TrainRunResult, trainRun} from './run.js'

export interface RegistrationPolicy {
  /** null: never register automatically. */
  registerAt: number | null
  /** null: never promote to Staging automatically. */
  stageAt: number | null
  model?: string
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
export async function trainAndRegister(input: TrainRunInput, policy: RegistrationPolicy): Promise<TrainOutcome> {
  const run = await trainRun(input)
  try {
    const record = await readRunRecord(input.paths, run.runId)
    const registry = await autoRegister(input.paths, record, policy)
    return {run, registry}
  } catch (err) {
    const e = err instanceof MorphoError ? err : new MorphoError('INTERNAL', String((err as Error)?.message ?? err))
    return {
      run,
      registry: {
        error: {code: e.code, message: e.message},
        messages: [`not registered: ${e.message} (register later with \`morpho register ${run.runId}\`)`],
      },
    }
  }
}
