import {randomBytes} from 'node:crypto'
import {lstat, mkdir, open, rename, rm} from 'node:fs/promises'
import {basename, dirname, join, resolve} from 'node:path'

/**
 * Write a file so that a reader sees either the old content or the new, never a mix:
 * temp file in the same folder, fsync, rename over the target, fsync the folder.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const dir = dirname(path)
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
  const handle = await open(tmp, 'w')
  try {
    await handle.writeFile(data)
    await handle.sync()
  } catch (err) {
    await handle.close()
    await rm(tmp, {force: true})
    // A write through a handle names no file: say which one (a full disk, say).
    throw withPath(err, path)
  }
  await handle.close()
  try {
    await rename(tmp, path)
  } catch (err) {
    await rm(tmp, {force: true})
    throw err
  }
  await fsyncDir(dir)
}

export async function fsyncDir(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined
  try {
    handle = await open(dir, 'r')
    await handle.sync()
  } catch {
    // Some filesystems refuse fsync on a directory; the rename itself is still atomic.
  } finally {
    await handle?.close()
  }
}

/**
 * mkdir -p that reports the real reason it failed: Node 20's recursive mkdir says ENOENT
 * where the file system said EROFS (or EACCES). On ENOENT the missing folders are made one
 * at a time, so the first refusal is the error thrown.
 */
export async function makeDirs(path: string): Promise<void> {
  try {
    await mkdir(path, {recursive: true})
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    const missing: string[] = []
    for (let dir = resolve(path); !(await exists(dir)); dir = dirname(dir)) {
      missing.unshift(dir)
      if (dirname(dir) === dir) break
    }
    for (const dir of missing) {
      await mkdir(dir).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw e
      })
    }
  }
}

function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  )
}

/** `err` with the path it concerns, for errors that come without one (reads of a handle, say). */
export function withPath(err: unknown, path: string): unknown {
  if (typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).path === undefined) {
    ;(err as NodeJS.ErrnoException).path = path
  }
  return err
}
