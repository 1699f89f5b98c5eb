import {constants} from 'node:fs'
import {lstat, mkdir, open, readdir, readFile, rename, rm} from 'node:fs/promises'
import {dirname, join, posix} from 'node:path'
import {fromSystemError, integrityError} from '../errors.js'
import {fsyncDir, withPath, writeFileAtomic} from './atomic.js'

/**
 * Reading what morpho wrote into its store without following symbolic links: a link put in
 * place of a run's file (or its folder) could otherwise make morpho — and the page's API —
 * read any file on the machine. The store's own folder (and runs/, models/) may be links: they
 * are the user's layout, not a file morpho wrote.
 */

/** The file's bytes; a link in its place is INTEGRITY (exit 7). Other errors (ENOENT) stay as they are. */
export async function readStoreFile(path: string): Promise<Buffer> {
  let handle: Awaited<ReturnType<typeof open>>
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW)
  } catch (err) {
    throw (err as NodeJS.ErrnoException).code === 'ELOOP' ? fromSystemError(err)! : err
  }
  try {
    return await handle.readFile()
  } finally {
    await handle.close()
  }
}

export async function readStoreText(path: string): Promise<string> {
  return (await readStoreFile(path)).toString('utf8')
}

/** Refuses a folder of the store that is a symbolic link; a missing one is left to the caller. */
export async function assertNotLink(path: string): Promise<void> {
  const info = await lstat(path).catch(() => undefined)
  if (info?.isSymbolicLink()) {
    throw integrityError(`${path} is a symbolic link; morpho does not follow links inside its store`, {
      hint: 'Replace the link with the folder itself, or remove it.',
      details: {path, errno: 'ELOOP'},
    })
  }
}

/**
 * A model's files in memory: relative forward-slash path → bytes. What a run saves, what a
 * version holds (manifest.json included), and what both backends store: a folder writes them
 * as files, a database as rows.
 */
export type ModelFiles = Map<string, Uint8Array>

/** Paths in a stable order (byte order of the names), so manifests and copies are reproducible. */
export function sortedPaths(files: ModelFiles): string[] {
  return [...files.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
}

/**
 * Every regular file under `dir`, a folder of the store (a run's model, a version). Symlinks
 * and other special files are INTEGRITY (exit 7), as a link in place of any store file is: a
 * registered version must not depend on anything outside its folder. A missing folder is an
 * empty map.
 */
export async function readTree(dir: string): Promise<ModelFiles> {
  const files: ModelFiles = new Map()
  const walk = async (rel: string): Promise<void> => {
    let names: string[]
    try {
      names = (await readdir(join(dir, rel))).sort()
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && rel === '') return
      throw err
    }
    for (const name of names) {
      const relPath = rel === '' ? name : posix.join(rel, name)
      const full = join(dir, relPath)
      const info = await lstat(full)
      if (info.isDirectory()) await walk(relPath)
      else if (info.isFile()) files.set(relPath, await readFile(full))
      else if (info.isSymbolicLink()) {
        throw integrityError(`${full} is a symbolic link; morpho does not follow links inside its store`, {
          hint: 'Put the file itself in place of the link, or register the run again.',
          details: {path: full, errno: 'ELOOP'},
        })
      } else {
        throw integrityError(`${full} is not a regular file; a model folder may hold only files and folders`, {
          hint: 'Remove it, or register the run again.',
          details: {path: full},
        })
      }
    }
  }
  await walk('')
  return files
}

/**
 * Writes `files` into `dir` (which must not hold them yet), fsyncing each file and folder.
 * `mode` 0o444 makes them read-only: a registered version is immutable, and an editor or a
 * script should be told so.
 */
export async function writeTree(dir: string, files: ModelFiles, mode = 0o644): Promise<void> {
  const folders = new Set<string>([dir])
  await mkdir(dir, {recursive: true})
  for (const path of sortedPaths(files)) {
    const full = join(dir, ...path.split('/'))
    const parent = dirname(full)
    if (!folders.has(parent)) {
      await mkdir(parent, {recursive: true})
      folders.add(parent)
    }
    const handle = await open(full, 'wx', mode)
    try {
      await handle.writeFile(files.get(path)!)
      await handle.sync()
    } catch (err) {
      throw withPath(err, full)
    } finally {
      await handle.close()
    }
  }
  for (const folder of [...folders].sort().reverse()) await fsyncDir(folder)
}

/** A path a manifest may list: relative, forward slashes, nothing that climbs out. */
export function isInside(path: string): boolean {
  return path !== '' && !path.startsWith('/') && !path.split('/').some((s) => s === '..' || s === '' || s === '.')
}

/** Writes `files` into `dir`, replacing whatever was there: a folder beside it, then one rename. */
export async function replaceTree(dir: string, files: ModelFiles): Promise<void> {
  const staging = `${dir}.partial-${process.pid}`
  await rm(staging, {recursive: true, force: true})
  try {
    await mkdir(staging, {recursive: true})
    for (const [name, bytes] of files) await writeFileAtomic(join(staging, name), bytes)
  } catch (err) {
    // Out of space, say: leave no half-written model beside the run's files.
    await rm(staging, {recursive: true, force: true}).catch(() => {})
    throw err
  }
  await rm(dir, {recursive: true, force: true})
  await rename(staging, dir)
  await fsyncDir(join(dir, '..'))
}
