import {readFile, rm} from 'node:fs/promises'
import {hostname} from 'node:os'
import {join} from 'node:path'
import {gunzipSync} from 'node:zlib'
import {integrityError, notFound} from '../errors.js'
import {
  findProblem,
  MANIFEST_FILE,
  type Manifest,
  REGISTRY_SCHEMA_VERSION,
  sha256,
  type VersionEntry,
} from '../registry/index.js'
import {isSafeId} from '../store/paths.js'
import type {Store} from '../store/store.js'
import {writeSynced} from './output.js'
import type {ExportSource} from './source.js'

/**
 * A registered version as one .tgz that `morpho import` registers into another store:
 *
 *   morpho-archive.json   what it is: format, the registry entry, where it came from, and the
 *                         size and sha256 of every other file in the archive
 *   version/…             the version's folder, byte for byte (model.json, weights.bin, manifest.json)
 *   run.json              the run's record (params, summary, backend), when the store has it
 *
 * Reading trusts nothing: only regular files with plain relative names, each listed in the
 * index with the right size and sha256, the manifest the one the entry names, nothing extra.
 */

export const ARCHIVE_FORMAT = 'morpho-archive'
export const ARCHIVE_FORMAT_VERSION = 1
export const ARCHIVE_INDEX = 'morpho-archive.json'
const VERSION_DIR = 'version'
const RUN_FILE = 'run.json'
/** Far above any morpho model (the default network is about 200 KB); a bound on what gunzip may produce. */
const MAX_UNPACKED_BYTES = 256 * 1024 * 1024

export interface ArchiveIndex {
  format: typeof ARCHIVE_FORMAT
  formatVersion: number
  exportedAt: string
  exportedBy: {morpho: string; host: string}
  model: string
  version: number
  /** The version's registry entry as the source store held it. */
  entry: VersionEntry
  aliases: string[]
  files: {path: string; size: number; sha256: string}[]
}

/** Writes the archive of a registered version to `file` (a staging path: see placeOutput). */
export async function writeArchive(
  store: Store,
  source: ExportSource,
  file: string,
  morphoVersion: string,
): Promise<ArchiveIndex> {
  const entry = source.entry!
  const contents = new Map<string, Uint8Array>()
  const manifest = JSON.parse(Buffer.from(source.files.get(MANIFEST_FILE)!).toString('utf8')) as Manifest
  for (const name of [MANIFEST_FILE, ...manifest.files.map((f) => f.path)]) {
    contents.set(`${VERSION_DIR}/${name}`, source.files.get(name)!)
  }
  const run = await store.runs.get(entry.runId).catch(() => undefined)
  if (run) contents.set(RUN_FILE, Buffer.from(`${JSON.stringify(run, null, 2)}\n`))
  const {model: _model, aliases, dir: _dir, ...stored} = entry
  const index: ArchiveIndex = {
    format: ARCHIVE_FORMAT,
    formatVersion: ARCHIVE_FORMAT_VERSION,
    exportedAt: new Date().toISOString(),
    exportedBy: {morpho: morphoVersion, host: hostname()},
    model: source.model,
    version: entry.version,
    entry: stored,
    aliases,
    files: [...contents].map(([path, bytes]) => ({path, size: bytes.byteLength, sha256: sha256(bytes)})),
  }
  contents.set(ARCHIVE_INDEX, Buffer.from(`${JSON.stringify(index, null, 2)}\n`))
  const tree = `${file}.tree`
  for (const [path, bytes] of contents) await writeSynced(join(tree, ...path.split('/')), bytes)
  const tar = await import('tar')
  // portable: no uid, gid, user names or gzip timestamp; every entry dated by the version.
  await tar.create({gzip: {portable: true}, portable: true, file, cwd: tree, mtime: new Date(entry.createdAt)}, [
    ARCHIVE_INDEX,
    ...index.files.map((f) => f.path),
  ])
  await rm(tree, {recursive: true, force: true})
  return index
}

export interface ReadArchive {
  file: string
  /** sha256 of the .tgz itself. */
  sha256: string
  index: ArchiveIndex
  /** The version's files by their path inside the version folder. */
  versionFiles: Map<string, Uint8Array>
  run?: Record<string, unknown>
}

/** Reads and verifies an archive completely, in memory; throws INTEGRITY (exit 7) on any defect. */
export async function readArchive(file: string): Promise<ReadArchive> {
  let packed: Buffer
  try {
    packed = await readFile(file)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(`no archive at ${file}`, {details: {file}})
    throw err
  }
  const bad = (problem: string, details: Record<string, unknown> = {}) =>
    integrityError(`${file} is not a valid morpho archive: ${problem}`, {
      hint: 'Nothing was imported. Export the version again (morpho export MODEL@VERSION --format archive) and copy the file whole.',
      details: {file, problem, ...details},
    })
  let raw: Buffer
  try {
    raw = gunzipSync(packed, {maxOutputLength: MAX_UNPACKED_BYTES})
  } catch (err) {
    throw bad(`it does not gunzip (${(err as Error).message}); it is truncated, damaged or not a .tgz`)
  }
  const entries = await tarEntries(raw, bad)
  const indexBytes = entries.get(ARCHIVE_INDEX)
  if (!indexBytes) throw bad(`${ARCHIVE_INDEX} is missing`)
  let index: ArchiveIndex
  try {
    index = JSON.parse(Buffer.from(indexBytes).toString('utf8')) as ArchiveIndex
  } catch (err) {
    throw bad(`${ARCHIVE_INDEX} is not JSON (${(err as Error).message})`)
  }
  if (index?.format !== ARCHIVE_FORMAT || !Number.isInteger(index.formatVersion))
    throw bad(`${ARCHIVE_INDEX} is not a morpho archive index`)
  if (index.formatVersion > ARCHIVE_FORMAT_VERSION) {
    throw integrityError(
      `${file} has archive format ${index.formatVersion}; this morpho reads up to ${ARCHIVE_FORMAT_VERSION}`,
      {
        hint: 'Import it with the newer morpho that wrote it, or upgrade morpho. Nothing was imported.',
        details: {file, formatVersion: index.formatVersion},
      },
    )
  }
  if (!Array.isArray(index.files)) throw bad(`${ARCHIVE_INDEX} lists no files`)
  // Names that become paths and lookups in the store they are imported into.
  if (typeof index.model !== 'string' || !isSafeId(index.model))
    throw bad(`its model name ${JSON.stringify(index.model)} is not a valid name`)
  if (typeof index.entry?.runId !== 'string' || !isSafeId(index.entry.runId)) {
    throw bad(`its run id ${JSON.stringify(index.entry?.runId)} is not a valid run id`)
  }
  const listed = new Set<string>([ARCHIVE_INDEX])
  for (const f of index.files) {
    const bytes = entries.get(f?.path)
    if (!bytes) throw bad(`${f?.path} is listed but missing`, {entry: f?.path})
    if (bytes.byteLength !== f.size) throw bad(`${f.path} is ${bytes.byteLength} bytes, not ${f.size}`, {entry: f.path})
    const actual = sha256(bytes)
    if (actual !== f.sha256)
      throw bad(`${f.path} sha256 mismatch (expected ${f.sha256}, got ${actual})`, {
        entry: f.path,
        expected: f.sha256,
        actual,
      })
    listed.add(f.path)
  }
  for (const path of entries.keys())
    if (!listed.has(path)) throw bad(`${path} is not listed in ${ARCHIVE_INDEX}`, {entry: path})

  const problem = findProblem({
    schemaVersion: REGISTRY_SCHEMA_VERSION,
    models: {
      [index.model]: {
        name: index.model,
        createdAt: '',
        nextVersion: (index.entry?.version ?? 0) + 1,
        aliases: {},
        versions: [index.entry],
      },
    },
    history: [],
  })
  if (problem) throw bad(`its registry entry is damaged (${problem.replace(/^models\.[^.]+\.versions\[0\]/, 'entry')})`)

  const versionFiles = new Map<string, Uint8Array>()
  for (const [path, bytes] of entries)
    if (path.startsWith(`${VERSION_DIR}/`)) versionFiles.set(path.slice(VERSION_DIR.length + 1), bytes)
  const manifestBytes = versionFiles.get(MANIFEST_FILE)
  if (!manifestBytes) throw bad(`${VERSION_DIR}/${MANIFEST_FILE} is missing`)
  if (sha256(manifestBytes) !== index.entry.manifestSha256)
    throw bad('the version manifest is not the one its registry entry names')
  const manifest = JSON.parse(Buffer.from(manifestBytes).toString('utf8')) as Manifest
  const inManifest = new Set([MANIFEST_FILE])
  for (const f of manifest.files ?? []) {
    const bytes = versionFiles.get(f.path)
    if (!bytes || bytes.byteLength !== f.size || sha256(bytes) !== f.sha256)
      throw bad(`${VERSION_DIR}/${f.path} does not match the version manifest`)
    inManifest.add(f.path)
  }
  for (const path of versionFiles.keys())
    if (!inManifest.has(path)) throw bad(`${VERSION_DIR}/${path} is not in the version manifest`)

  const runBytes = entries.get(RUN_FILE)
  let run: Record<string, unknown> | undefined
  if (runBytes) {
    try {
      run = JSON.parse(Buffer.from(runBytes).toString('utf8')) as Record<string, unknown>
    } catch (err) {
      throw bad(`${RUN_FILE} is not JSON (${(err as Error).message})`)
    }
  }
  return {file, sha256: sha256(packed), index, versionFiles, run}
}

/** A tar's regular files by name; anything else (links, devices, odd names, duplicates) is refused. */
async function tarEntries(
  raw: Buffer,
  bad: (problem: string, details?: Record<string, unknown>) => Error,
): Promise<Map<string, Uint8Array>> {
  const tar = await import('tar')
  const entries = new Map<string, Uint8Array>()
  let refused: Error | undefined
  await new Promise<void>((resolve, reject) => {
    const parser = new tar.Parser({
      strict: true,
      onReadEntry(entry) {
        const name = entry.path
        if (refused) return entry.resume()
        if (entry.type !== 'File' && entry.type !== 'OldFile') {
          refused = bad(`entry ${JSON.stringify(name)} is a ${entry.type}, not a regular file`, {entry: name})
        } else if (!isPlainPath(name)) {
          refused = bad(
            `entry name ${JSON.stringify(name)} is not a plain relative path (it could write outside the store)`,
            {entry: name},
          )
        } else if (entries.has(name)) {
          refused = bad(`entry ${JSON.stringify(name)} appears twice`, {entry: name})
        }
        if (refused) return entry.resume()
        const chunks: Buffer[] = []
        entry.on('data', (c: Buffer) => chunks.push(c))
        entry.on('end', () => entries.set(name, Buffer.concat(chunks)))
      },
    })
    parser.on('error', (err: Error) => reject(bad(`its tar data is damaged (${err.message})`)))
    parser.on('end', () => resolve())
    parser.end(raw)
  })
  if (refused) throw refused
  return entries
}

function isPlainPath(path: string): boolean {
  return (
    path.length > 0 &&
    path.length <= 255 &&
    !path.startsWith('/') &&
    !path.includes('\\') &&
    !path.includes('\0') &&
    path.split('/').every((s) => s !== '' && s !== '.' && s !== '..')
  )
}
