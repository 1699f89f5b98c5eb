import {MorphoError, notFound, usageError} from '../errors.js'
import {assertSafeId} from '../store/paths.js'
import type {RegistryReadTx} from '../store/store.js'
import {getModel, type ModelRecord, type RegistryModels, STAGES, type Stage, type VersionEntry} from './schema.js'

/**
 * Pure lookups on a registry document: which model, which version, which alias, and the
 * parsing of what users type for them. Nothing here touches the disk.
 */

/** `name` if given (it must exist), else the only model in the registry: in a document. */
export function selectModel(doc: RegistryModels, name?: string): ModelRecord {
  return getModel(
    doc,
    chooseModel(Object.keys(doc.models).sort(), name, (n) => getModel(doc, n) !== undefined),
  )!
}

/** The same choice inside a registry read or write (in a write, the record returned is live). */
export async function pickModel(tx: RegistryReadTx, name?: string): Promise<ModelRecord> {
  if (name !== undefined) {
    assertSafeId('model name', name)
    const model = await tx.model(name)
    if (model) return model
  }
  const names = await tx.modelNames()
  return (await tx.model(chooseModel(names, name, () => false)))!
}

function chooseModel(names: string[], name: string | undefined, exists: (name: string) => boolean): string {
  if (name !== undefined) {
    assertSafeId('model name', name)
    if (exists(name)) return name
    throw notFound(`no model "${name}" in the registry`, {
      hint:
        names.length > 0
          ? `Registered models: ${names.join(', ')}.`
          : 'The registry is empty: morpho register <run-id>.',
      details: {model: name, models: names},
    })
  }
  if (names.length === 1) return names[0]!
  if (names.length === 0) {
    throw notFound('the registry has no models yet', {
      hint: 'Train with morpho train (it registers a good model itself), or morpho register <run-id>.',
      details: {models: []},
    })
  }
  throw usageError(`the registry holds ${names.length} models; say which one with --model`, {
    hint: `Models: ${names.join(', ')}.`,
    details: {models: names},
  })
}

/** What a user can type for a version: 3, v3, an alias, "latest", "production" or "staging". */
export type VersionRef = number | string

export function parseVersionRef(text: string): VersionRef {
  const trimmed = text.trim()
  const match = /^v?(\d+)$/i.exec(trimmed)
  if (match) {
    const n = Number(match[1])
    if (!Number.isSafeInteger(n) || n < 1) {
      throw usageError(`Invalid version "${text}"`, {hint: 'A version is a whole number from 1 (or an alias).'})
    }
    return n
  }
  if (trimmed === '') throw usageError('Empty version', {hint: 'Give a version number or an alias.'})
  return trimmed
}

/**
 * The version a reference points at. Numbers are versions; "latest" is the newest version;
 * "production" and "staging" (any case) are the holders of those stages; any other word is an
 * alias. Unknown references are NOT_FOUND and name what exists.
 */
export function resolveVersion(model: ModelRecord, ref: VersionRef): VersionEntry {
  if (typeof ref === 'number' || /^v?\d+$/i.test(ref)) {
    const n = typeof ref === 'number' ? ref : Number(ref.replace(/^v/i, ''))
    const entry = findVersion(model, n)
    if (!entry) {
      const range = model.versions.length > 0 ? ` (versions 1-${model.versions.at(-1)!.version})` : ''
      throw notFound(`${model.name} has no version ${n}${range}`, {
        hint: `See them with morpho list --model ${model.name}.`,
        details: {model: model.name, version: n},
      })
    }
    return entry
  }
  const word = ref.toLowerCase()
  if (word === 'latest') {
    const latest = model.versions.at(-1)
    if (!latest) throw notFound(`${model.name} has no versions`, {details: {model: model.name}})
    return latest
  }
  if (word === 'production' || word === 'staging') {
    const stage: Stage = word === 'production' ? 'Production' : 'Staging'
    const holder = stageHolder(model, stage)
    if (!holder) {
      throw notFound(`${model.name} has no version in ${stage}`, {
        hint: `Promote one: morpho promote ${stage} --version N --model ${model.name}.`,
        details: {model: model.name, stage},
      })
    }
    return holder
  }
  if (Object.hasOwn(model.aliases, ref)) {
    const entry = findVersion(model, model.aliases[ref]!)
    if (entry) return entry
    throw notFound(`alias "${ref}" of ${model.name} points at version ${model.aliases[ref]}, which does not exist`, {
      hint: `Point it at a version: morpho alias set ${ref} <version> --model ${model.name}.`,
      details: {model: model.name, alias: ref, version: model.aliases[ref]},
    })
  }
  const aliases = Object.keys(model.aliases).sort()
  throw notFound(`${model.name} has no alias "${ref}"`, {
    hint: aliases.length > 0 ? `Aliases: ${aliases.join(', ')}.` : `Set one: morpho alias set ${ref} <version>.`,
    details: {model: model.name, alias: ref, aliases},
  })
}

/** Versions are kept ascending and numbered from 1 without gaps, so try the direct index first. */
export function findVersion(model: ModelRecord, version: number): VersionEntry | undefined {
  const direct = model.versions[version - 1]
  if (direct?.version === version) return direct
  return model.versions.find((v) => v.version === version)
}

/**
 * The version in `stage`. Production has at most one holder; Staging may have several after
 * --no-archive, and then the most recently promoted one (highest version on a tie) answers.
 */
export function stageHolder(model: ModelRecord, stage: Stage): VersionEntry | undefined {
  let best: VersionEntry | undefined
  for (const v of model.versions) {
    if (v.stage !== stage) continue
    if (!best || (v.promotedBy?.at ?? v.createdAt) >= (best.promotedBy?.at ?? best.createdAt)) best = v
  }
  return best
}

export function parseStage(text: string, allowed: readonly Stage[] = STAGES): Stage {
  const found = STAGES.find((s) => s.toLowerCase() === text.trim().toLowerCase())
  if (!found || !allowed.includes(found)) {
    throw usageError(`Unknown stage "${text}"`, {hint: `Use one of: ${allowed.join(', ')}.`, details: {stage: text}})
  }
  return found
}

const ALIAS_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/
const RESERVED_ALIASES = new Set([...STAGES.map((s) => s.toLowerCase()), 'latest'])

/** Alias names: a letter, then letters, digits, "_" or "-"; stage names, "latest" and v<number> are reserved. */
export function assertAlias(name: string): string {
  if (!ALIAS_PATTERN.test(name)) {
    throw usageError(`Invalid alias "${name}"`, {
      hint: 'An alias is 1-64 letters, digits, "_" or "-", starting with a letter.',
      details: {alias: name},
    })
  }
  if (RESERVED_ALIASES.has(name.toLowerCase()) || /^v\d+$/i.test(name)) {
    throw usageError(`"${name}" is reserved and cannot be an alias`, {
      hint: 'Stage names (None, Staging, Production, Archived, any case), "latest" and v<number> are reserved.',
      details: {alias: name},
    })
  }
  return name
}

/** `k=v` items, split on the first "="; an item without "=" or with an empty key is refused. */
export function parseTags(items: readonly string[] = []): Record<string, string> {
  const pairs: [string, string][] = []
  for (const item of items) {
    const at = item.indexOf('=')
    if (at <= 0) {
      throw usageError(`Invalid tag "${item}"`, {
        hint: 'Tags are key=value (split on the first "="), for example --tag owner=ana --tag dataset=v2.',
        details: {tag: item},
      })
    }
    pairs.push([item.slice(0, at), item.slice(at + 1)])
  }
  // fromEntries defines own properties, so a key like "__proto__" stays an ordinary tag.
  return Object.fromEntries(pairs)
}

/** A run's problem as a model name: characters a name may not hold become "-". */
export function modelNameFor(problem: string): string {
  const name = problem
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/\.{2,}/g, '.')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 128)
  return assertSafeId('model name', name === '' ? 'model' : name)
}

export function isMorphoCode(err: unknown, code: MorphoError['code']): boolean {
  return err instanceof MorphoError && err.code === code
}
