import {readdir} from 'node:fs/promises'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {exportModel} from '../../src/export/export.js'
import {registerRun} from '../../src/registry/register.js'
import {FolderStore} from '../../src/store/folder/folder-store.js'
import {tempDir} from '../helpers/cli.js'
import {makeRun} from '../helpers/runs.js'

/**
 * `register` and `export` under SIGINT/SIGTERM (their commands turn the signals into this
 * abort signal, as train's and sweep's do: test/interrupt.integration.test.ts sends real ones):
 * an abort before the registry write registers nothing and leaves no folder; an abort before
 * the rename leaves no --out and no partial copy beside it. Both are INTERRUPTED, exit 130.
 */

describe('register and export stop at their abort signal', () => {
  let home: {path: string; cleanup: () => Promise<void>}
  let store: FolderStore
  beforeEach(async () => {
    home = await tempDir()
    store = new FolderStore(home.path)
  })
  afterEach(() => home.cleanup())

  const aborted = () => {
    const abort = new AbortController()
    abort.abort()
    return abort
  }

  it('register: aborted before it starts, or while its files are staged, registers nothing', async () => {
    const run = await makeRun(store)
    await expect(registerRun(store, run.id, {signal: aborted().signal})).rejects.toMatchObject({
      code: 'INTERRUPTED',
      exitCode: 130,
      message: `Interrupted before run ${run.id} was registered; nothing was registered`,
    })
    expect(await readdir(home.path)).not.toContain('models')

    // The signal comes while the files are copied into the store: they are removed again.
    const abort = new AbortController()
    const stage = store.registry.stageVersion.bind(store.registry)
    store.registry.stageVersion = async (...args) => {
      const staged = await stage(...args)
      abort.abort()
      return staged
    }
    await expect(registerRun(store, run.id, {signal: abort.signal})).rejects.toMatchObject({code: 'INTERRUPTED'})
    expect(await readdir(join(home.path, 'models')).catch(() => [])).toEqual([])
    expect(await store.registry.read((tx) => tx.modelNames())).toEqual([])

    // Not interrupted, the same run registers as version 1: nothing was used up.
    expect(await registerRun(store, run.id, {signal: new AbortController().signal})).toMatchObject({version: 1})
  })

  it('export: aborted, --out does not exist and nothing is left beside it', async () => {
    const run = await makeRun(store)
    const outDir = await tempDir()
    try {
      const out = join(outDir.path, 'model.onnx')
      await expect(
        exportModel(store, {ref: run.id, format: 'onnx', out, morphoVersion: 'test', signal: aborted().signal}),
      ).rejects.toMatchObject({code: 'INTERRUPTED', message: `Export interrupted; nothing was written to ${out}`})
      expect(await readdir(outDir.path)).toEqual([])
    } finally {
      await outDir.cleanup()
    }
  })
})
