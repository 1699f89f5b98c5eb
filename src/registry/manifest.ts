import {createHash} from 'node:crypto'
import {chmod, lstat, mkdir, open, readdir, readFile} from 'node:fs/promises'
import {basename, dirname, join, posix} from 'node:path'
import {integrityError, invalidData} from '../errors.js'
import {fsyncDir, writeFileAtomic} from '../store/atomic.js'

/**
 * models/<name>/<version>/manifest.json lists every file of a registered version with its
 * size and sha256. The registry entry keeps the sha256 of the manifest itself, so changing
 * a file and "fixing" the manifest to match is caught too.
 */

export const MANIFEST_FILE = 'manifest.json'
export const MANIFEST_SCHEMA_VERSION = 1
const READ_ONLY = 0o444

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
 * Copies the regular files under `from` into `to` (created), fsyncing each file and folder,
 * and returns what it copied, hashed from the bytes it wrote. Symlinks and other special
 * files are refused: a registered version must not depend on anything outside its folder.
 */
export async function copyModelFiles(from: string, to: string): Promise<ManifestFile[]> {
  const files: ManifestFile[] = []
  const walk = async (rel: string): Promise<void> => {
    const dest = join(to, rel)
    await mkdir(dest, {recursive: true})
    const names = (await readdir(join(from, rel))).sort()
    for (const name of names) {
      const relPath = rel === '' ? name : posix.join(rel, name)
      const src = join(from, relPath)
      const info = await lstat(src)
      if (info.isDirectory()) {
        await walk(relPath)
      } else if (info.isFile()) {
        const bytes = await readFile(src)
        // Read-only: a registered version is immutable, and an editor or script should be told so.
        const handle = await open(join(to, relPath), 'wx', READ_ONLY)
        try {
          await handle.writeFile(bytes)
          await handle.sync()
        } finally {
          await handle.close()
        }
        files.push({path: relPath, size: bytes.byteLength, sha256: sha256(bytes)})
      } else {
        throw invalidData(`${src} is not a regular file; a model folder may hold only files and folders`, {
          details: {path: src},
        })
      }
    }
    await fsyncDir(dest)
  }
  await walk('')
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
}

/** Writes manifest.json into `dir` and returns the sha256 of the bytes written. */
export async function writeManifest(dir: string, manifest: Manifest): Promise<string> {
  const text = `${JSON.stringify(manifest, null, 2)}\n`
  await writeFileAtomic(join(dir, MANIFEST_FILE), text)
  await chmod(join(dir, MANIFEST_FILE), READ_ONLY)
  return sha256(text)
}

export interface VerifyOptions {
  /** Shown in the error: "spirals v3". Defaults to the folder names. */
  label?: string
  /** The manifest's sha256 as recorded in the registry; checked when given. */
  manifestSha256?: string
}

/**
 * Checks a version folder against its manifest: every listed file present with the recorded
 * size and sha256, and nothing on disk that the manifest does not list. Returns the manifest;
 * throws INTEGRITY (exit 7) naming the first file that does not match.
 */
export async function verifyVersion(dir: string, options: VerifyOptions = {}): Promise<Manifest> {
  const label = options.label ?? `${basename(dirname(dir))} v${basename(dir)}`
  const fail = (problem: string, details: Record<string, unknown> = {}) =>
    integrityError(`version ${label} failed verification: ${problem}`, {
      hint: `The files in ${dir} changed after registration (or were never completely copied). Register the run again for a fresh version, or restore the folder from a backup.`,
      details: {dir, problem, ...details},
    })

  let text: Buffer
  try {
    text = await readFile(join(dir, MANIFEST_FILE))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      const folder = await lstat(dir).then(
        () => true,
        () => false,
      )
      throw fail(folder ? `${MANIFEST_FILE} is missing` : 'its folder is missing')
    }
    throw err
  }
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
    manifest = JSON.parse(text.toString('utf8')) as Manifest
    if (!Array.isArray(manifest.files)) throw new Error('files is not a list')
  } catch (err) {
    throw fail(`${MANIFEST_FILE} is not a valid manifest (${(err as Error).message})`)
  }

  const onDisk = new Set(await listFiles(dir))
  onDisk.delete(MANIFEST_FILE)
  for (const file of manifest.files) {
    if (typeof file?.path !== 'string' || !isInside(file.path)) {
      throw fail(`${MANIFEST_FILE} lists a path outside the version folder: ${JSON.stringify(file?.path)}`)
    }
    if (!onDisk.has(file.path)) throw fail(`${file.path} is missing`, {file: file.path})
    onDisk.delete(file.path)
    const bytes = await readFile(join(dir, file.path))
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
  const extra = [...onDisk].sort()[0]
  if (extra !== undefined) throw fail(`${extra} is not in the manifest`, {file: extra})
  return manifest
}

function isInside(path: string): boolean {
  return path !== '' && !path.startsWith('/') && !path.split('/').some((s) => s === '..' || s === '' || s === '.')
}

/** Every non-folder entry under `dir`, as relative forward-slash paths. A missing folder has none. */
async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = []
  const walk = async (rel: string): Promise<void> => {
    let entries: import('node:fs').Dirent[]
    try {
      entries = await readdir(join(dir, rel), {withFileTypes: true})
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && rel === '') return
      throw err
    }
    for (const entry of entries) {
      const relPath = rel === '' ? entry.name : `${rel}/${entry.name}`
      if (entry.isDirectory()) await walk(relPath)
      else out.push(relPath)
    }
  }
  await walk('')
  return out
}
