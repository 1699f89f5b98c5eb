import {readFile} from 'node:fs/promises'
import {registerRun} from '../../../src/registry/index.js'
import {FolderStore} from '../../../src/store/folder/folder-store.js'
import type {Store} from '../../../src/store/store.js'
import {tempDir} from '../../helpers/cli.js'
import {type MakeRunOptions, makeRun} from '../../helpers/runs.js'

/** A fresh folder store in a temp folder; `cleanup` removes it. */
export async function newStore() {
  const dir = await tempDir('morpho-registry-')
  const store = new FolderStore(dir.path)
  return {home: dir.path, paths: store.paths, store, cleanup: dir.cleanup}
}

/** Trains nothing: writes a run per val_acc (null = no val_acc) and registers each, in order. */
export async function registerRuns(store: Store, accs: (number | null)[], options: MakeRunOptions = {}) {
  const out = []
  for (const valAcc of accs) {
    const run = await makeRun(store, {...options, valAcc})
    out.push(await registerRun(store, run.id))
  }
  return out
}

export async function readJson<T = unknown>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T
}

export async function rejection(
  promise: Promise<unknown>,
): Promise<{code?: string; message: string; hint?: string; details?: Record<string, unknown>}> {
  try {
    await promise
  } catch (err) {
    return err as {code?: string; message: string}
  }
  throw new Error('expected a rejection')
}
