import {MorphoError} from '../errors.js'
import type {Store} from '../store/store.js'
import type {Stage} from './schema.js'
import {pickModel, resolveVersion} from './select.js'
import {record} from './tx.js'

export interface DeleteVersionResult {
  model: string
  version: number
  /** The stage it had. */
  stage: Stage
  runId: string
  /** Aliases that pointed at it, deleted with it. */
  aliases: string[]
  /** A folder store keeps the files until `morpho gc`; a database drops them at once. */
  filesKept: boolean
}

/**
 * Takes a version out of the registry in one write, recorded in the history (action
 * `delete`, from its stage to null), with the aliases that pointed at it. Its number is never
 * handed out again, and rollback passes over it. A Production version needs `force`.
 */
export async function deleteVersion(
  store: Store,
  options: {model?: string; version: number; force?: boolean; reason?: string},
): Promise<DeleteVersionResult> {
  return store.registry.write(async (tx) => {
    const model = await pickModel(tx, options.model)
    const entry = resolveVersion(model, options.version)
    if (entry.stage === 'Production' && !options.force) {
      throw new MorphoError('CONFLICT', `${model.name} v${entry.version} is in Production; refusing to delete it`, {
        hint: `Promote another version to Production first, or delete it anyway with --force (servers following Production then have none).`,
        details: {model: model.name, version: entry.version, stage: entry.stage},
      })
    }
    const aliases = Object.keys(model.aliases)
      .filter((a) => model.aliases[a] === entry.version)
      .sort()
    for (const alias of aliases) {
      delete model.aliases[alias]
      await tx.updateAlias(model, alias, null)
      await record(tx, {
        model: model.name,
        version: entry.version,
        action: 'alias_delete',
        from: entry.version,
        to: null,
        alias,
        reason: `alias ${alias} deleted with v${entry.version}`,
        rule: {rule: 'manual'},
      })
    }
    model.versions.splice(model.versions.indexOf(entry), 1)
    await tx.deleteVersion(model, entry)
    await record(tx, {
      model: model.name,
      version: entry.version,
      action: 'delete',
      from: entry.stage,
      to: null,
      reason: options.reason ?? `deleted (was ${entry.stage}, run ${entry.runId})`,
      rule: {rule: 'manual'},
    })
    return {
      model: model.name,
      version: entry.version,
      stage: entry.stage,
      runId: entry.runId,
      aliases,
      filesKept: store.kind === 'folder',
    }
  })
}
