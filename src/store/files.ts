import {constants} from 'node:fs'
import {lstat, open} from 'node:fs/promises'
import {fromSystemError, integrityError} from '../errors.js'

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
