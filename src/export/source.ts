import {isMorphoError, notFound, usageError} from '../errors.js'
import {decodeModel, type LoadedModel} from '../model/serialize.js'
import {modelNameFor, parseVersionRef, readModels, resolveModel, type VersionView} from '../registry/index.js'
import type {ModelFiles} from '../store/files.js'
import {isSafeId} from '../store/paths.js'
import type {Store} from '../store/store.js'
import {resolveRunRef} from '../tracking/run-ref.js'

/**
 * What `morpho export` reads: MODEL, MODEL@VERSION, MODEL@ALIAS or MODEL@STAGE from the
 * registry (verified against its checksums), or a run id (the run's own saved model).
 */

export interface ExportSource {
  kind: 'registry' | 'run'
  model: string
  version: number | null
  runId: string | null
  loaded: LoadedModel
  /** The version's folder (null for a database store: its files are rows), or where the run is. */
  dir: string | null
  /** The model's files (a version's verified files, manifest.json included). */
  files: ModelFiles
  /** The registry entry (registry sources only). */
  entry?: VersionView
}

export async function resolveSource(store: Store, ref: string): Promise<ExportSource> {
  const at = ref.indexOf('@')
  const name = at === -1 ? ref : ref.slice(0, at)
  if (name === '')
    throw usageError(`Invalid model "${ref}"`, {
      hint: 'Give MODEL, MODEL@VERSION, MODEL@ALIAS, MODEL@STAGE or a run id.',
    })
  const doc = await readModels(store)
  if (at !== -1 || Object.hasOwn(doc.models, name)) {
    const version = at === -1 ? undefined : parseVersionRef(ref.slice(at + 1))
    const resolved = await resolveModel(store, {model: name, version})
    const files = resolved.files!
    return {
      kind: 'registry',
      model: resolved.name,
      version: resolved.entry.version,
      runId: resolved.entry.runId,
      loaded: decodeModel(files, `${resolved.name} v${resolved.entry.version}`),
      dir: resolved.dir,
      files,
      entry: resolved.entry,
    }
  }
  if (isSafeId(name)) {
    // A run id, its start, or latest; an ambiguous start says which runs it could be.
    const runId = await resolveRunRef(store, name).catch((err: unknown) => {
      if (isMorphoError(err) && err.code === 'NOT_FOUND') return undefined
      throw err
    })
    const files = runId === undefined ? undefined : await store.runs.modelFiles(runId)
    if (runId !== undefined && files) {
      const loaded = decodeModel(files, `run ${runId}`)
      const dir = `run ${runId} in ${store.location}`
      return {kind: 'run', model: modelNameFor(loaded.file.problem), version: null, runId, loaded, dir, files}
    }
  }
  const models = Object.keys(doc.models).sort()
  throw notFound(`no registered model or run with a saved model called "${name}"`, {
    hint:
      models.length > 0
        ? `Registered models: ${models.join(', ')} (morpho list); runs: morpho runs list.`
        : 'The registry is empty; runs: morpho runs list.',
    details: {ref, models},
  })
}
