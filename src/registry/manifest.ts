import {createHash} from 'node:crypto'
import {lstat} from 'node:fs/promises'
import {basename, dirname} from 'node:path'
import {integrityError} from '../errors.js'
import {isInside, type ModelFiles, readTree, sortedPaths} from '../store/files.js'

/**
 * Every registered version holds a manifest.json listing each of its files with its size and
 * sha256. The registry entry keeps the sha256 of the manifest itself, so changing a file and
 * "fixing" the manifest to match is caught too. The same bytes are stored by both backends,
 * so a version copied between stores verifies the same way.
 */

export const MANIFEST_FILE = 'manifest.json'
export const MANIFEST_SCHEMA_VERSION = 1

export interface ManifestFile {
  /** Relative to the version folder, forward slashes. */
  path: string
  size: number
  sha256: string
}

export interface Manifest {
  schemaVersion: number
  algorithm: 'sha256'
  model: string
  runId: string
  createdAt: string
  files: ManifestFile[]
}

export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex')
}

/**
 * A version's files: the model's own files plus the manifest.json that lists them. Returns
 * the files and the sha256 of the manifest as written.
 */
export function withManifest(
  model: ModelFiles,
  meta: Pick<Manifest, 'model' | 'runId' | 'createdAt'>,
): {files: ModelFiles; manifest: Manifest; manifestSha256: string} {
  const files: ModelFiles = new Map()
  const listed: ManifestFile[] = []
  for (const path of sortedPaths(model)) {
    if (path === MANIFEST_FILE) continue
    const bytes = model.get(path)!
    files.set(path, bytes)
    listed.push({path, size: bytes.byteLength, sha256: sha256(bytes)})
  }
  const manifest: Manifest = {schemaVersion: MANIFEST_SCHEMA_VERSION, algorithm: 'sha256', ...meta, files: listed}
  const text = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`)
  files.set(MANIFEST_FILE, text)
  return {files, manifest, manifestSha256: sha256(text)}
}

export interface VerifyOptions {
  /** Shown in the error: "spirals v3". */
  label: string
  /** The manifest's sha256 as recorded in the registry; checked when given. */
  manifestSha256?: string
  /** What to tell the user about where the files are and how to repair them. */
  hint?: string
  /** Extra details for the error (the folder, for a folder store). */
  details?: Record<string, unknown>
}

/**
 * Checks a version's files against its manifest: every listed file present with the recorded
 * size and sha256, and nothing the manifest does not list. Returns the manifest; throws
 * INTEGRITY (exit 7) naming the first file that does not match.
 */
export function verifyFiles(files: ModelFiles, options: VerifyOptions): Manifest {
  const fail = (problem: string, details: Record<string, unknown> = {}) =>
    integrityError(`version ${options.label} failed verification: ${problem}`, {
      hint:
        options.hint ??
        'The files changed after registration (or were never completely copied). Register the run again for a fresh version.',
      details: {...options.details, problem, ...details},
    })
  const text = files.get(MANIFEST_FILE)
  if (!text) throw fail(`${MANIFEST_FILE} is missing`)
  if (options.manifestSha256 !== undefined) {
    const actual = sha256(text)
    if (actual !== options.manifestSha256) {
      throw fail(`${MANIFEST_FILE} sha256 mismatch (expected ${options.manifestSha256}, got ${actual})`, {
        file: MANIFEST_FILE,
        expected: options.manifestSha256,
        actual,
      })
    }
  }
  let manifest: Manifest
  try {
    manifest = JSON.parse(Buffer.from(text).toString('utf8')) as Manifest
    if (!Array.isArray(manifest.files)) throw new Error('files is not a list')
  } catch (err) {
    throw fail(`${MANIFEST_FILE} is not a valid manifest (${(err as Error).message})`)
  }
  const unlisted = new Set(files.keys())
  unlisted.delete(MANIFEST_FILE)
  for (const file of manifest.files) {
    if (typeof file?.path !== 'string' || !isInside(file.path)) {
      throw fail(`${MANIFEST_FILE} lists a path outside the version folder: ${JSON.stringify(file?.path)}`)
    }
    const bytes = files.get(file.path)
    if (!bytes || !unlisted.has(file.path)) throw fail(`${file.path} is missing`, {file: file.path})
    unlisted.delete(file.path)
    if (bytes.byteLength !== file.size) {
      throw fail(`${file.path} size mismatch (expected ${file.size} bytes, got ${bytes.byteLength})`, {
        file: file.path,
        expected: file.size,
        actual: bytes.byteLength,
      })
    }
    const actual = sha256(bytes)
    if (actual !== file.sha256) {
      throw fail(`${file.path} sha256 mismatch (expected ${file.sha256}, got ${actual})`, {
        file: file.path,
        expected: file.sha256,
        actual,
      })
    }
  }
  const extra = [...unlisted].sort()[0]
  if (extra !== undefined) throw fail(`${extra} is not in the manifest`, {file: extra})
  return manifest
}

/** A version folder's hint: what to do when its files do not verify. */
export function folderHint(dir: string): string {
  return `The files in ${dir} changed after registration (or were never completely copied). Register the run again for a fresh version, or restore the folder from a backup.`
}

/** Checks a version folder against its manifest (see verifyFiles). */
export async function verifyVersion(
  dir: string,
  options: Partial<Pick<VerifyOptions, 'label' | 'manifestSha256'>> = {},
): Promise<Manifest> {
  const label = options.label ?? `${basename(dirname(dir))} v${basename(dir)}`
  const files = await readTree(dir)
  const common = {label, manifestSha256: options.manifestSha256, hint: folderHint(dir), details: {dir}}
  if (files.size === 0) {
    const folder = await lstat(dir).then(
      () => true,
      () => false,
    )
    if (!folder) {
      throw integrityError(`version ${label} failed verification: its folder is missing`, {
        hint: common.hint,
        details: {dir, problem: 'its folder is missing'},
      })
    }
  }
  return verifyFiles(files, common)
}
