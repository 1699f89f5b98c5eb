import {randomBytes} from 'node:crypto'
import {lstat, mkdir, open, readdir, readFile, rename, rm} from 'node:fs/promises'
import {basename, dirname, join, posix, resolve} from 'node:path'
import {MorphoError} from '../errors.js'
import {sha256} from '../registry/manifest.js'
import {isAlive} from '../runtime.js'
import {fsyncDir} from '../store/atomic.js'

/**
 * Where an export lands: everything is written under a private name beside --out and renamed
 * into place at the end, so --out holds a complete export or nothing (an existing --out, with
 * --force, is replaced only once the new one is complete).
 */

export interface WrittenFile {
  /** Relative to --out (a single-file export: its own name), forward slashes. */
  path: string
  size: number
  sha256: string
}

export async function placeOutput(
  out: string,
  force: boolean,
  write: (staging: string) => Promise<void>,
): Promise<WrittenFile[]> {
  const target = resolve(out)
  const existing = await lstat(target).catch(() => undefined)
  if (existing && !force) {
    throw new MorphoError('CONFLICT', `--out ${target} already exists`, {
      hint: 'Choose another --out, or pass --force to replace it.',
      details: {out: target},
    })
  }
  const parent = dirname(target)
  await mkdir(parent, {recursive: true})
  await removeStale(parent, basename(target))
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`
  const staging = join(parent, `.${basename(target)}.partial-${tag}`)
  try {
    await write(staging)
    const files = await listWritten(staging, basename(target))
    if (existing) {
      const aside = join(parent, `.${basename(target)}.replaced-${tag}`)
      await rename(target, aside)
      try {
        await rename(staging, target)
      } catch (err) {
        await rename(aside, target)
        throw err
      }
      await rm(aside, {recursive: true, force: true})
    } else {
      await rename(staging, target)
    }
    await fsyncDir(parent)
    return files
  } finally {
    await rm(staging, {recursive: true, force: true})
  }
}

/**
 * What an export to the same --out left behind when its process was killed before it could
 * clean up (a second Ctrl-C, SIGKILL): `.NAME.partial-PID-…` whose process is gone. Those of a
 * process still running (another export at the same moment) stay, and so does a
 * `.NAME.replaced-…`, which may be the only copy of an --out being replaced.
 */
async function removeStale(parent: string, name: string): Promise<void> {
  for (const entry of await readdir(parent).catch(() => [] as string[])) {
    if (!entry.startsWith(`.${name}.partial-`)) continue
    const pid = /^(\d+)-[0-9a-f]{8}$/.exec(entry.slice(name.length + 10))?.[1]
    if (pid !== undefined && !isAlive(Number(pid))) await rm(join(parent, entry), {recursive: true, force: true})
  }
}

/** Writes a file and flushes it to disk before it is renamed anywhere. */
export async function writeSynced(path: string, data: Uint8Array | string): Promise<void> {
  await mkdir(dirname(path), {recursive: true})
  const handle = await open(path, 'wx')
  try {
    await handle.writeFile(data)
    await handle.sync()
  } finally {
    await handle.close()
  }
}

async function listWritten(staging: string, name: string): Promise<WrittenFile[]> {
  const info = await lstat(staging)
  const hash = async (path: string, rel: string): Promise<WrittenFile> => {
    const bytes = await readFile(path)
    return {path: rel, size: bytes.byteLength, sha256: sha256(bytes)}
  }
  if (!info.isDirectory()) return [await hash(staging, name)]
  const out: WrittenFile[] = []
  const walk = async (rel: string): Promise<void> => {
    for (const entry of (await readdir(join(staging, rel), {withFileTypes: true})).sort((a, b) =>
      a.name < b.name ? -1 : 1,
    )) {
      const relPath = rel === '' ? entry.name : posix.join(rel, entry.name)
      if (entry.isDirectory()) await walk(relPath)
      else out.push(await hash(join(staging, relPath), relPath))
    }
    await fsyncDir(join(staging, rel))
  }
  await walk('')
  return out
}
