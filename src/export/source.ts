import {stat} from 'node:fs/promises'
import {join} from 'node:path'
import {notFound, usageError} from '../errors.js'
import {MODEL_FILE} from '../model/model-file.js'
import {type LoadedModel, loadModelFiles} from '../model/serialize.js'
import {modelNameFor, parseVersionRef, readRegistry, resolveModel, type VersionView} from '../registry/index.js'
import {isSafeId, type StorePaths} from '../store/paths.js'

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
  /** The version's folder or the run's model folder. */
  dir: string
  /** The registry entry (registry sources only). */
  entry?: VersionView
}

export async function resolveSource(paths: StorePaths, ref: string): Promise<ExportSource> {
  const at = ref.indexOf('@')
  const name = at === -1 ? ref : ref.slice(0, at)
  if (name === '')
    throw usageError(`Invalid model "${ref}"`, {
      hint: 'Give MODEL, MODEL@VERSION, MODEL@ALIAS, MODEL@STAGE or a run id.',
    })
  const doc = await readRegistry(paths)
  if (at !== -1 || Object.hasOwn(doc.models, name)) {
    const version = at === -1 ? undefined : parseVersionRef(ref.slice(at + 1))
    const resolved = await resolveModel(paths, {model: name, version})
    return {
      kind: 'registry',
      model: resolved.name,
      version: resolved.entry.version,
      runId: resolved.entry.runId,
      loaded: await loadModelFiles(resolved.dir),
      dir: resolved.dir,
      entry: resolved.entry,
    }
  }
  if (isSafeId(name)) {
    const dir = paths.runModelDir(name)
    if (
      await stat(join(dir, MODEL_FILE)).then(
        (s) => s.isFile(),
        () => false,
      )
    ) {
      const loaded = await loadModelFiles(dir)
      return {kind: 'run', model: modelNameFor(loaded.file.problem), version: null, runId: name, loaded, dir}
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
