import {MorphoError} from '../errors.js'
import {readModels} from '../registry/queries.js'
import type {Stage} from '../registry/schema.js'
import type {Store} from '../store/store.js'
import {resolveRunRef} from './run-ref.js'

export interface DeletedRun {
  runId: string
  /** Registered versions made from the run (they keep their own files; only --force deletes such a run). */
  versions: {model: string; version: number; stage: Stage}[]
}

export interface DeleteRunsResult {
  deleted: DeletedRun[]
}

/**
 * Deletes runs: each reference (an id, its start, latest) is resolved and checked before
 * any is deleted, so a refused one deletes none. Refused: a run still running, and a run a
 * registered version came from (its lineage in the registry and on the page), unless `force`.
 */
export async function deleteRuns(
  store: Store,
  refs: string[],
  options: {force?: boolean} = {},
): Promise<DeleteRunsResult> {
  const ids = [...new Set(await Promise.all(refs.map((ref) => resolveRunRef(store, ref))))]
  const doc = await readModels(store)
  const plan: DeletedRun[] = []
  for (const runId of ids) {
    const run = await store.runs.get(runId)
    if (run.status === 'running') {
      throw new MorphoError('CONFLICT', `run ${runId} is still running; refusing to delete it`, {
        hint: 'Stop it first (Ctrl-C in its terminal, or kill its process); nothing was deleted.',
        details: {runId, pid: run.pid ?? null},
      })
    }
    const versions = Object.values(doc.models)
      .flatMap((m) =>
        m.versions.filter((v) => v.runId === runId).map((v) => ({model: m.name, version: v.version, stage: v.stage})),
      )
      .sort((a, b) => (a.model === b.model ? a.version - b.version : a.model < b.model ? -1 : 1))
    if (versions.length > 0 && !options.force) {
      const named = versions.map((v) => `${v.model} v${v.version} (${v.stage})`).join(', ')
      throw new MorphoError('CONFLICT', `run ${runId} is where ${named} came from; refusing to delete it`, {
        hint: `Nothing was deleted. The versions keep their own files: delete the run anyway with --force (they then name a run that is gone), or delete the versions first with morpho delete.`,
        details: {runId, versions},
      })
    }
    plan.push({runId, versions})
  }
  for (const run of plan) await store.runs.delete(run.runId)
  return {deleted: plan}
}
