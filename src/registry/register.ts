import {integrityError, invalidData, stopIfInterrupted} from '../errors.js'
import {whyUnservable} from '../model/check.js'
import {assertSafeId} from '../store/paths.js'
import type {Store} from '../store/store.js'
import type {RunRecord} from '../tracking/types.js'
import {withManifest} from './manifest.js'
import {type VersionView, view} from './queries.js'
import type {RegisteredBy} from './schema.js'
import {modelNameFor} from './select.js'
import {addVersion, autoReason, modelOrNew} from './tx.js'

export interface RegisterOptions {
  /** Default: the run's problem, made into a valid name. */
  model?: string
  description?: string
  tags?: Record<string, string>
  /** Default: manual. */
  registeredBy?: RegisteredBy
  /** Why, for the history. */
  reason?: string
  /** Aborting stops the registration before its one registry write; nothing is registered. */
  signal?: AbortSignal
}

export interface RegisterResult {
  model: string
  version: number
  entry: VersionView
}

/**
 * Registers a completed run's model as the model's next version: its files and a sha256
 * manifest are copied into the store first (a folder: a private folder beside the versions;
 * a database: nothing yet), then one registry write numbers the version, moves the files into
 * place and records it. Concurrent registrations wait on each other only for that write.
 */
export async function registerRun(store: Store, runId: string, options: RegisterOptions = {}): Promise<RegisterResult> {
  const run = await completedRun(store, runId)
  const name = options.model !== undefined ? assertSafeId('model name', options.model) : modelNameFor(run.problem)
  const saved = await store.runs.modelFiles(run.id)
  if (!saved) {
    throw invalidData(`run ${run.id} has no saved model (model/model.json is missing)`, {
      hint: 'Only runs that saved their model can be registered; train again to get one.',
      details: {runId: run.id},
    })
  }
  // A model that cannot load would be an outage at the next `serve`: refuse it before anything is copied.
  const problem = whyUnservable(saved, `runs/${run.id}/model`)
  if (problem !== undefined) {
    throw integrityError(`Refusing to register run ${run.id}: its model does not load: ${problem}`, {
      hint: "Nothing was registered. The run's model files are damaged; train again for a model that loads.",
      details: {runId: run.id, problem},
    })
  }
  // Refuse an unreadable registry before copying anything into the store.
  await store.registry.read((tx) => tx.modelNames())
  const {files, manifestSha256} = withManifest(saved, {model: name, runId: run.id, createdAt: new Date().toISOString()})
  const interrupted = () =>
    stopIfInterrupted(options.signal, `Interrupted before run ${run.id} was registered; nothing was registered`)
  interrupted()
  const staged = await store.registry.stageVersion(name, files)
  const registeredBy = options.registeredBy ?? {rule: 'manual'}
  try {
    interrupted()
    return await store.registry.write(async (tx) => {
      const model = await modelOrNew(tx, name)
      const entry = await addVersion(
        tx,
        model,
        (version) => ({
          version,
          stage: 'None',
          runId: run.id,
          createdAt: tx.time,
          updatedAt: tx.time,
          description: options.description ?? null,
          tags: options.tags ?? {},
          metrics: numericSummary(run),
          params: {problem: run.problem, backend: run.backend?.name ?? 'unknown', seed: run.seed ?? null},
          path: `models/${name}/${version}`,
          manifestSha256,
          registeredBy,
        }),
        staged,
        (added) => ({
          reason:
            options.reason ??
            (registeredBy.rule === 'auto' ? autoReason(added, registeredBy) : `registered run ${run.id}`),
          rule: registeredBy,
        }),
      )
      return {model: name, version: entry.version, entry: view(store, model, entry)}
    })
  } finally {
    await staged.discard()
  }
}

/** The run's record, which must say completed: only a finished run has a model worth registering. */
async function completedRun(store: Store, runId: string): Promise<RunRecord> {
  const run = await store.runs.get(runId)
  if (run.status !== 'completed') {
    throw invalidData(
      `run ${runId} is ${JSON.stringify(run.status)}, not completed; only a completed run can be registered`,
      {
        hint: 'Register a run that finished (morpho runs list shows the status of each).',
        details: {runId, status: run.status},
      },
    )
  }
  return run
}

function numericSummary(run: RunRecord): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [key, value] of Object.entries(run.summary ?? {})) {
    if (typeof value === 'number' && Number.isFinite(value)) out[key] = value
  }
  return out
}
