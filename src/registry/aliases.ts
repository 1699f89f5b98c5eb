import {notFound} from '../errors.js'
import type {Store} from '../store/store.js'
import {assertAlias, pickModel, resolveVersion, type VersionRef} from './select.js'
import {record} from './tx.js'

/** Aliases (MLflow 2.9+ style names for versions, beside the four stages), each one registry write. */

export interface AliasResult {
  model: string
  alias: string
  version: number
  /** The version the alias pointed at before (set), or null when it is new. */
  previous: number | null
  noop: boolean
}

export async function setAlias(
  store: Store,
  options: {model?: string; alias: string; version: VersionRef},
): Promise<AliasResult> {
  const alias = assertAlias(options.alias)
  return store.registry.write(async (tx) => {
    const model = await pickModel(tx, options.model)
    const entry = resolveVersion(model, options.version)
    const previous = Object.hasOwn(model.aliases, alias) ? model.aliases[alias]! : null
    if (previous === entry.version) return {model: model.name, alias, version: entry.version, previous, noop: true}
    model.aliases[alias] = entry.version
    await tx.updateAlias(model, alias, entry.version)
    await record(tx, {
      model: model.name,
      version: entry.version,
      action: 'alias_set',
      from: previous,
      to: entry.version,
      alias,
      reason:
        previous === null
          ? `alias ${alias} set to v${entry.version}`
          : `alias ${alias} moved from v${previous} to v${entry.version}`,
      rule: {rule: 'manual'},
    })
    return {model: model.name, alias, version: entry.version, previous, noop: false}
  })
}

export async function deleteAlias(store: Store, options: {model?: string; alias: string}): Promise<AliasResult> {
  const alias = assertAlias(options.alias)
  return store.registry.write(async (tx) => {
    const model = await pickModel(tx, options.model)
    if (!Object.hasOwn(model.aliases, alias)) {
      const aliases = Object.keys(model.aliases).sort()
      throw notFound(`${model.name} has no alias "${alias}"`, {
        hint: aliases.length > 0 ? `Aliases: ${aliases.join(', ')}.` : `${model.name} has no aliases.`,
        details: {model: model.name, alias, aliases},
      })
    }
    const version = model.aliases[alias]!
    delete model.aliases[alias]
    await tx.updateAlias(model, alias, null)
    await record(tx, {
      model: model.name,
      version,
      action: 'alias_delete',
      from: version,
      to: null,
      alias,
      reason: `alias ${alias} deleted (was v${version})`,
      rule: {rule: 'manual'},
    })
    return {model: model.name, alias, version, previous: version, noop: false}
  })
}
