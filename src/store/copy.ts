import {isDeepStrictEqual} from 'node:util'
import {integrityError, MorphoError, stopIfInterrupted} from '../errors.js'
import {verifyFiles} from '../registry/manifest.js'
import {readRegistry, verifiedFiles} from '../registry/queries.js'
import type {ModelRecord, RegistryDocument} from '../registry/schema.js'
import {stageHolder} from '../registry/select.js'
import type {ModelFiles} from './files.js'
import type {StagedVersion, Store} from './store.js'

/**
 * `morpho store copy`: everything one store holds into another that is empty, either way
 * between a folder and a database. Every registered version's files are checked against
 * their manifest before they are copied and again where they land; the runs (record, epochs,
 * events, model files), versions, stages, aliases and history entries (their numbers, times
 * and actors) arrive as they were, and the model files byte for byte.
 */

export interface CopyResult {
  from: string
  to: string
  runs: number
  models: number
  versions: number
  aliases: number
  history: number
  sweeps: number
}

export async function copyStore(
  from: Store,
  to: Store,
  onProgress: (line: string) => void = () => {},
  signal?: AbortSignal,
): Promise<CopyResult> {
  // Stops between two items: each run, and the registry as a whole, lands complete or not at all.
  const interrupted = (copied: number, total: number) =>
    stopIfInterrupted(
      signal,
      copied === 0
        ? `store copy interrupted; nothing was written to ${to.location}`
        : `store copy interrupted after ${copied} of ${total} runs; the registry and sweeps were not copied`,
      copied === 0
        ? undefined
        : `${to.location} now holds a partial copy: empty it (or give --to a new store) before copying again.`,
    )
  await assertEmpty(to)
  const {runs, skipped} = await from.runs.list()
  if (skipped.length > 0) {
    throw integrityError(
      `${skipped.length} run(s) in ${from.location} cannot be read: ${skipped[0]!.id}: ${skipped[0]!.error}`,
      {
        hint: 'Repair or remove them first; nothing was copied.',
        details: {skipped},
      },
    )
  }
  const doc = await readRegistry(from)
  // Every version verified before anything is written.
  const files = new Map<string, ModelFiles>()
  for (const model of Object.values(doc.models)) {
    for (const entry of model.versions) {
      interrupted(0, runs.length)
      files.set(key(model.name, entry.version), (await verifiedFiles(from, model.name, entry)).files)
    }
  }
  onProgress(`${runs.length} runs, ${files.size} versions verified in ${from.location}`)

  let copied = 0
  for (const run of runs.slice().reverse()) {
    interrupted(copied, runs.length)
    const details = await from.runs.details(run.id)
    await to.runs.put({...details, model: await from.runs.modelFiles(run.id)})
    copied++
  }
  onProgress(`${runs.length} runs copied`)

  interrupted(copied, runs.length)
  await copyRegistry(doc, files, to)
  const aliases = Object.values(doc.models).reduce((n, m) => n + Object.keys(m.aliases).length, 0)
  onProgress(`${files.size} versions, ${aliases} aliases and ${doc.history.length} history entries copied`)

  const sweeps = await from.sweeps.list()
  for (const sweep of sweeps) {
    const id = (sweep as {id?: unknown}).id
    if (typeof id !== 'string') continue
    await to.sweeps.update(id, async () => ({doc: sweep, result: undefined}))
  }

  await checkCopy(doc, files, to, runs.length)
  onProgress(`checked: ${to.location} holds the same registry, runs and files`)
  return {
    from: from.location,
    to: to.location,
    runs: runs.length,
    models: Object.keys(doc.models).length,
    versions: files.size,
    aliases,
    history: doc.history.length,
    sweeps: sweeps.length,
  }
}

const key = (model: string, version: number) => `${model}\u0000${version}`

async function assertEmpty(store: Store): Promise<void> {
  const [names, {runs, skipped}, sweeps] = await Promise.all([
    store.registry.read((tx) => tx.modelNames()),
    store.runs.list(),
    store.sweeps.list(),
  ])
  if (names.length + runs.length + skipped.length + sweeps.length > 0) {
    throw new MorphoError('CONFLICT', `the store ${store.location} is not empty; copy only into an empty store`, {
      hint: 'Give --to a new folder or a new database.',
      details: {models: names.length, runs: runs.length + skipped.length, sweeps: sweeps.length},
    })
  }
}

/** The whole registry in one write of the target: models, versions with their files, aliases, history. */
async function copyRegistry(doc: RegistryDocument, files: Map<string, ModelFiles>, to: Store): Promise<void> {
  const staged: {model: ModelRecord; staged: Map<number, StagedVersion>}[] = []
  try {
    for (const name of Object.keys(doc.models).sort()) {
      const model = doc.models[name]!
      const byVersion = new Map<number, StagedVersion>()
      staged.push({model, staged: byVersion})
      for (const entry of model.versions) {
        byVersion.set(entry.version, await to.registry.stageVersion(name, files.get(key(name, entry.version))!))
      }
    }
    await to.registry.write(async (tx) => {
      for (const {model, staged: byVersion} of staged) {
        const copy: ModelRecord = {
          name: model.name,
          createdAt: model.createdAt,
          nextVersion: model.nextVersion,
          aliases: {},
          versions: [],
        }
        await tx.insertModel(copy)
        // The Staging holder the rules would name stays the one; others were there by --no-archive.
        const holder = stageHolder(model, 'Staging')
        for (const original of model.versions) {
          const entry = structuredClone(original)
          copy.versions.push(entry)
          await tx.insertVersion(copy, entry, byVersion.get(entry.version)!)
          if (entry.stage !== 'None') {
            await tx.updateVersion(copy, entry, {shared: entry.stage === 'Staging' && original !== holder})
          }
        }
        copy.nextVersion = model.nextVersion
        for (const [alias, version] of Object.entries(model.aliases)) {
          copy.aliases[alias] = version
          await tx.updateAlias(copy, alias, version)
        }
      }
      for (const entry of doc.history) {
        const {seq, ...rest} = entry
        const written = await tx.appendHistory(rest)
        if (written.seq !== seq) {
          throw integrityError(`history entry ${seq} would become ${written.seq} in the copy; nothing was copied`, {
            details: {seq, copied: written.seq},
          })
        }
      }
    })
  } finally {
    for (const {staged: byVersion} of staged) for (const s of byVersion.values()) await s.discard()
  }
}

/** Reads the target back: the same registry document, every version's files byte for byte and verified. */
async function checkCopy(
  doc: RegistryDocument,
  files: Map<string, ModelFiles>,
  to: Store,
  runs: number,
): Promise<void> {
  const copied = await readRegistry(to)
  if (!isDeepStrictEqual(copied, doc)) {
    throw integrityError(`the copy in ${to.location} does not read back as the registry it came from`)
  }
  for (const model of Object.values(copied.models)) {
    for (const entry of model.versions) {
      const landed = await to.registry.versionFiles(model.name, entry)
      verifyFiles(landed, {label: `${model.name} v${entry.version}`, manifestSha256: entry.manifestSha256})
      const source = files.get(key(model.name, entry.version))!
      const same =
        landed.size === source.size &&
        [...source].every(([path, bytes]) => Buffer.from(bytes).equals(Buffer.from(landed.get(path) ?? [])))
      if (!same) throw integrityError(`${model.name} v${entry.version}'s files differ in the copy`)
    }
  }
  const listed = (await to.runs.list()).runs.length
  if (listed !== runs) throw integrityError(`the copy holds ${listed} runs, not ${runs}`)
}
