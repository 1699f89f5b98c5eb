import {basename, resolve} from 'node:path'
import {MorphoError} from '../errors.js'
import {type VersionView, view} from '../registry/queries.js'
import type {ImportSource} from '../registry/schema.js'
import {addVersion, modelOrNew} from '../registry/tx.js'
import {assertSafeId} from '../store/paths.js'
import type {Store} from '../store/store.js'
import {readArchive} from './archive.js'

/**
 * `morpho import FILE`: registers the version an archive holds as the next version of its
 * model (or --model) in this store, folder or PostgreSQL. The whole archive is read and
 * verified first (every sha256, the manifest the entry names, nothing extra); only then are
 * the files staged and, in one registry write, numbered and recorded. The version keeps its
 * run id, metrics, params, tags and description, starts in stage None, and its history entry
 * says where it came from. A model that already holds the same files (an import run twice)
 * is a CONFLICT: a retried job does not register a second copy.
 */

export interface ImportOptions {
  file: string
  /** Default: the name the archive was exported under. */
  model?: string
}

export interface ImportResult {
  model: string
  version: number
  /** The archive and the version it was exported from. */
  source: ImportSource
  /** The version's files as stored, with their sizes and sha256 (as the manifest lists them). */
  files: {path: string; size: number; sha256: string}[]
  entry: VersionView
}

export async function importArchive(store: Store, options: ImportOptions): Promise<ImportResult> {
  const file = resolve(options.file)
  const archive = await readArchive(file)
  const {index} = archive
  const name = assertSafeId('model name', options.model ?? index.model)
  // Refuse an unreadable registry before copying anything into the store.
  await store.registry.read((tx) => tx.modelNames())
  const source: ImportSource = {
    archive: basename(file),
    sha256: archive.sha256,
    model: index.model,
    version: index.version,
    exportedAt: index.exportedAt,
    exportedBy: index.exportedBy,
  }
  const staged = await store.registry.stageVersion(name, archive.versionFiles)
  try {
    return await store.registry.write(async (tx) => {
      const model = await modelOrNew(tx, name)
      const same = model.versions.find((v) => v.manifestSha256 === index.entry.manifestSha256)
      if (same) {
        throw new MorphoError(
          'CONFLICT',
          `${name} v${same.version} already holds this version (the same files, manifest sha256 ${same.manifestSha256.slice(0, 12)}…)`,
          {
            hint: `Nothing was imported. Use ${name} v${same.version}, or import under another name with --model.`,
            details: {model: name, version: same.version, manifestSha256: same.manifestSha256},
          },
        )
      }
      const {promotedBy: _promoted, ...kept} = index.entry
      const entry = await addVersion(
        tx,
        model,
        (version) => ({
          ...kept,
          version,
          stage: 'None',
          createdAt: tx.time,
          updatedAt: tx.time,
          path: `models/${name}/${version}`,
          registeredBy: {rule: 'manual'},
        }),
        staged,
        () => ({
          reason: `imported from ${source.archive}: ${index.model} v${index.version} (run ${index.entry.runId}), exported ${index.exportedAt} on ${index.exportedBy.host} by morpho ${index.exportedBy.morpho}`,
          rule: {rule: 'manual'},
          source,
        }),
      )
      const manifest = JSON.parse(Buffer.from(archive.versionFiles.get('manifest.json')!).toString('utf8')) as {
        files: ImportResult['files']
      }
      return {model: name, version: entry.version, source, files: manifest.files, entry: view(store, model, entry)}
    })
  } finally {
    await staged.discard()
  }
}
