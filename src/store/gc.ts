import {lstat, readdir, rm} from 'node:fs/promises'
import {join} from 'node:path'
import type {ModelRecord} from '../registry/schema.js'
import {isSafeId} from './paths.js'
import type {CollectedFiles, Store} from './store.js'

export interface GcResult {
  removed: CollectedFiles[]
  bytes: number
  dryRun: boolean
}

/** `morpho gc`: the store's stray version files, removed (or only listed, `dryRun`). */
export async function collectGarbage(store: Store, dryRun: boolean): Promise<GcResult> {
  const removed = await store.registry.collectGarbage({dryRun})
  return {removed, bytes: removed.reduce((sum, f) => sum + f.bytes, 0), dryRun}
}

/**
 * What `morpho gc` finds under a models folder laid out models/<name>/<version>/: version
 * folders the registry does not list (a deleted version, a copy a killed writer moved into
 * place), and any other folder `isStrayCopy` says belongs to nobody. The registry's version
 * numbers only grow, so a folder found here can never become a version again.
 */
export async function strayVersionFolders(
  modelsDir: string,
  model: (name: string) => Promise<ModelRecord | undefined>,
  isStrayCopy: (name: string) => boolean = () => false,
): Promise<CollectedFiles[]> {
  const found: CollectedFiles[] = []
  for (const name of (await names(modelsDir)).filter(isSafeId).sort()) {
    const record = await model(name)
    const listed = new Set(record?.versions.map((v) => v.version) ?? [])
    for (const child of await names(join(modelsDir, name))) {
      const version = /^\d+$/.test(child) ? Number(child) : null
      if (version === null ? !isStrayCopy(child) : listed.has(version)) continue
      const path = join(modelsDir, name, child)
      if (!(await lstat(path)).isDirectory()) continue
      found.push({model: name, version, path, bytes: await folderBytes(path)})
    }
  }
  return found.sort((a, b) => (a.model === b.model ? (a.version ?? 0) - (b.version ?? 0) : a.model < b.model ? -1 : 1))
}

export async function removeFolders(found: readonly CollectedFiles[]): Promise<void> {
  for (const f of found) await rm(f.path, {recursive: true, force: true})
}

async function names(dir: string): Promise<string[]> {
  try {
    return await readdir(dir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return []
    throw err
  }
}

/** The bytes of the files under `dir`, links not followed. */
async function folderBytes(dir: string): Promise<number> {
  let total = 0
  for (const entry of await readdir(dir, {withFileTypes: true})) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) total += await folderBytes(path)
    else total += (await lstat(path)).size
  }
  return total
}
