import {mkdir, readFile, writeFile} from 'node:fs/promises'
import {dirname, join} from 'node:path'
import {gunzipSync} from 'node:zlib'

/**
 * Archives made wrong on purpose, with the real tar library: what a damaged download, a
 * truncated copy or a hostile file looks like to `morpho import`.
 */

/** The entries of a .tgz, by name. */
export async function entriesOf(file: string): Promise<Map<string, Buffer>> {
  const tar = await import('tar')
  const out = new Map<string, Buffer>()
  await new Promise<void>((resolve, reject) => {
    const parser = new tar.Parser({
      onReadEntry(entry) {
        const chunks: Buffer[] = []
        entry.on('data', (c: Buffer) => chunks.push(c))
        entry.on('end', () => out.set(entry.path, Buffer.concat(chunks)))
      },
    })
    parser.on('error', reject)
    parser.on('end', () => resolve())
    readFile(file).then((bytes) => parser.end(gunzipSync(bytes)), reject)
  })
  return out
}

/** Writes `entries` as a .tgz; names are kept exactly as given (preservePaths), "../x" included. */
export async function packEntries(file: string, work: string, entries: Map<string, Uint8Array>): Promise<void> {
  const tar = await import('tar')
  const root = join(work, 'tree', 'a', 'b')
  for (const [name, bytes] of entries) {
    const path = join(root, name)
    await mkdir(dirname(path), {recursive: true})
    await writeFile(path, bytes)
  }
  await tar.create({gzip: true, file, cwd: root, preservePaths: true}, [...entries.keys()])
}

/** A copy of the file with one byte of its gzip stream flipped, near the middle. */
export async function flipByte(from: string, to: string): Promise<void> {
  const bytes = await readFile(from)
  bytes[Math.floor(bytes.length / 2)]! ^= 0x01
  await writeFile(to, bytes)
}

export async function truncate(from: string, to: string, keep = 0.6): Promise<void> {
  const bytes = await readFile(from)
  await writeFile(to, bytes.subarray(0, Math.floor(bytes.length * keep)))
}
