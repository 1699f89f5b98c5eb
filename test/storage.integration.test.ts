import {chmod, mkdir, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import type {RunRecord} from '../src/tracking/types.js'
import {parseJson, runCli, spawnCli, tempDir} from './helpers/cli.js'
import {mountTmpfs, TMPFS_UNAVAILABLE, type Tmpfs} from './helpers/tmpfs.js'

/**
 * File-system failures, for real: a full tmpfs, a read-only one, a store this user may not
 * write, a folder where registry.json should be. Each is one clear message and a stable
 * exit code (9 storage, 7 integrity), and a training run that dies of it says so in run.json.
 */

interface ErrorOut {
  error: {code: string; exitCode: number; message: string; hint?: string; details?: Record<string, unknown>}
}

const TINY = ['--samples', '120', '--hidden-dim', '8', '--num-layers', '2', '--batch-size', '32']

describe('storage errors (built CLI)', () => {
  it('registry.json that is a folder: exit 7 naming it, for readers and writers alike', async () => {
    const home = await tempDir()
    await mkdir(join(home.path, 'registry.json'))
    for (const args of [['list'], ['promote', 'Production', '--version', '1']]) {
      const res = await runCli([...args, '--json', '--home', home.path])
      expect(res.code, res.stdout).toBe(7)
      const {error} = parseJson<ErrorOut>(res.stdout)
      expect(error.code).toBe('INTEGRITY')
      expect(error.message).toMatch(
        new RegExp(`^${join(home.path, 'registry.json')} is a folder where morpho expects a file \\(EISDIR`),
      )
      expect(error.details).toMatchObject({errno: 'EISDIR'})
    }
    const human = await runCli(['list', '--home', home.path])
    expect(human.code).toBe(7)
    expect(human.stderr.replace(/\s*\n\s*›\s*/g, ' ')).toContain(
      'registry.json is a folder where morpho expects a file',
    )
    await home.cleanup()
  })

  it('a store this user may not write: exit 9, permission denied, nothing created', async () => {
    const home = await tempDir()
    const store = join(home.path, 'store')
    await mkdir(store)
    // Root writes anywhere: run the command as nobody instead; otherwise take the write bit away.
    const asRoot = process.getuid?.() === 0
    await chmod(home.path, 0o755)
    if (!asRoot) await chmod(store, 0o555)
    const res = await runCli(['train', ...TINY, '--json', '--home', store], asRoot ? {uid: 65534} : {})
    expect(res.code, res.stdout + res.stderr).toBe(9)
    const {error} = parseJson<ErrorOut>(res.stdout)
    expect(error).toMatchObject({code: 'STORAGE', exitCode: 9, details: {errno: 'EACCES'}})
    expect(error.message).toBe(`Permission denied on ${join(store, 'runs')} (EACCES on mkdir)`)
    expect(error.hint).toContain('--home')
    expect(await readdir(store)).toEqual([])
    await chmod(store, 0o755)
    await home.cleanup()
  })

  describe.skipIf(TMPFS_UNAVAILABLE !== undefined)(
    `on a real tmpfs${TMPFS_UNAVAILABLE ? ` (skipped: ${TMPFS_UNAVAILABLE})` : ''}`,
    () => {
      let fs: Tmpfs | undefined
      afterEach(() => {
        fs?.cleanup()
        fs = undefined
      })

      it('0 bytes free: train exits 9 saying the disk is full, and leaves no run folder behind', async () => {
        fs = mountTmpfs('1m')
        const store = join(fs.path, 'store')
        await mkdir(join(store, 'runs'), {recursive: true})
        await fs.fill()
        const res = await runCli(['train', ...TINY, '--json', '--home', store])
        expect(res.code, res.stdout + res.stderr).toBe(9)
        const {error} = parseJson<ErrorOut>(res.stdout)
        expect(error).toMatchObject({code: 'STORAGE', exitCode: 9, details: {errno: 'ENOSPC'}})
        expect(error.message).toMatch(/^No space left on the device to write /)
        expect(error.hint).toMatch(/Free some space/)
        expect(await readdir(join(store, 'runs'))).toEqual([])
      })

      it('0 bytes free: register and promote exit 9 naming the file, and the registry is as it was', async () => {
        fs = mountTmpfs('2m')
        const store = join(fs.path, 'store')
        const trained = await runCli(['train', ...TINY, '--no-register', '--json', '--home', store])
        expect(trained.code, trained.stderr).toBe(0)
        const {runId} = parseJson<{run: {runId: string}}>(trained.stdout).run
        const listed = async () =>
          parseJson<{versions: {version: number; stage: string}[]}>(
            (await runCli(['list', '--json', '--home', store])).stdout,
          ).versions.map((v) => [v.version, v.stage])

        await fs.fill()
        const register = await runCli(['register', runId, '--json', '--home', store])
        expect(register.code, register.stdout).toBe(9)
        const refused = parseJson<ErrorOut>(register.stdout).error
        expect(refused).toMatchObject({code: 'STORAGE', details: {errno: 'ENOSPC'}})
        expect(refused.message).toMatch(
          new RegExp(
            `^No space left on the device to write ${join(store, 'models', 'spirals')}/\\.incoming\\.\\S+ \\(ENOSPC on write\\)$`,
          ),
        )
        expect(refused.hint).toMatch(/^Free some space/)
        // Nothing of it is left: no version, no empty models/ folder.
        expect(await readdir(store)).not.toContain('models')

        await rm(join(fs.path, 'filler'))
        expect((await runCli(['register', runId, '--home', store])).code).toBe(0)
        await fs.fill()
        const promote = await runCli(['promote', 'Production', '--version', '1', '--json', '--home', store])
        expect(promote.code, promote.stdout).toBe(9)
        expect(parseJson<ErrorOut>(promote.stdout).error).toMatchObject({
          code: 'STORAGE',
          message: `No space left on the device to write ${join(store, 'registry.json')} (ENOSPC on write)`,
          details: {errno: 'ENOSPC', path: join(store, 'registry.json')},
        })
        await rm(join(fs.path, 'filler'))
        expect(await listed()).toEqual([[1, 'None']])
      })

      it('the disk fills up during training: exit 9, and run.json says the run failed and why', async () => {
        fs = mountTmpfs('4m')
        const store = join(fs.path, 'store')
        const child = spawnCli(['train', ...TINY, '--warm-up-epochs', '5000', '--no-register', '--home', store])
        let stderr = ''
        child.stderr.on('data', (d) => {
          stderr += d
        })
        child.stdout.resume()
        const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
        while (!/epoch\s+3\//.test(stderr)) await new Promise((r) => setTimeout(r, 25))
        await fs.fill()
        expect(await exit).toBe(9)
        expect(stderr.replace(/\s*\n\s*›\s*/g, ' ')).toMatch(/No space left on the device to write .*metrics\.jsonl/)
        const [id] = await readdir(join(store, 'runs'))
        const dir = join(store, 'runs', id!)
        const record = JSON.parse(await readFile(join(dir, 'run.json'), 'utf8')) as RunRecord
        expect(record.status).toBe('failed')
        expect(record.error).toMatchObject({code: 'STORAGE'})
        expect(record.error?.message).toMatch(/^No space left on the device to write /)
        expect(record.endedAt).toBeTruthy()
        // The space it kept for this is given back; no half-written model is left.
        expect((await readdir(dir)).sort()).toEqual(['events.jsonl', 'metrics.jsonl', 'run.json'])
        const list = await runCli(['runs', 'list', '--json', '--home', store])
        expect(list.stdout).toContain(id)
      })

      it('a read-only store: train and promote exit 9 saying the file system is read-only', async () => {
        fs = mountTmpfs('1m')
        const store = join(fs.path, 'store')
        await mkdir(store)
        await writeFile(join(store, 'registry.json'), '{"schemaVersion":1,"models":{},"history":[]}\n')
        fs.readOnly()
        const train = await runCli(['train', ...TINY, '--json', '--home', store])
        expect(train.code).toBe(9)
        expect(parseJson<ErrorOut>(train.stdout).error).toMatchObject({
          code: 'STORAGE',
          message: `Read-only file system: cannot write ${join(store, 'runs')} (EROFS on mkdir)`,
          details: {errno: 'EROFS'},
        })
        const alias = await runCli(['alias', 'set', 'champion', '1', '--json', '--home', store])
        expect(alias.code, alias.stdout).toBe(9)
        expect(parseJson<ErrorOut>(alias.stdout).error.details).toMatchObject({errno: 'EROFS'})
      })
    },
  )
})
