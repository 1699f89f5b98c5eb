import {mkdir, readdir, rm, stat, utimes, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {parseJson, runCli, tempDir} from '../helpers/cli.js'
import {makeRun} from '../helpers/runs.js'

/**
 * The registry lock's dead ends, with the built CLI: a lock folder whose time is in the future
 * (a clock that stepped back) is taken over once it stands still; a plain file named
 * registry.lock is refused with the command that removes it. Neither leaves writers stuck.
 */

interface ErrorOut {
  error: {code: string; exitCode: number; message: string; hint?: string; details?: Record<string, unknown>}
}

const HOUR = 3_600_000
/** An hour ahead, in whole seconds (file times keep no finer a fraction exactly). */
const anHourAhead = () => new Date(Math.floor((Date.now() + HOUR) / 1000) * 1000)

describe('registry lock dead ends (built CLI)', () => {
  let home: {path: string; cleanup: () => Promise<void>}
  let lock: string
  beforeEach(async () => {
    home = await tempDir()
    lock = join(home.path, 'registry.lock')
  })
  afterEach(() => home.cleanup())

  /** A run to register, and a lock folder dated an hour ahead that nobody holds. */
  const withFutureLock = async () => {
    const run = await makeRun(home.path)
    await mkdir(lock)
    const future = anHourAhead()
    await utimes(lock, future, future)
    return {run, future}
  }

  it('takes over a lock folder dated an hour ahead once its time has stood still for the stale period', async () => {
    const {run} = await withFutureLock()

    const res = await runCli(['register', run.id, '--json', '--home', home.path], {
      env: {MORPHO_LOCK_STALE_MS: '2000', MORPHO_LOCK_TIMEOUT_MS: '10000'},
    })
    expect(res.code, res.stdout + res.stderr).toBe(0)
    expect(parseJson<{version: number}>(res.stdout).version).toBe(1)
    // Released after the write, as any lock is.
    await expect(stat(lock)).rejects.toThrow(/ENOENT/)
  })

  it('says when the lock is dated in the future and exactly what to remove, if the wait is too short to take it over', async () => {
    const {run, future} = await withFutureLock()

    const res = await runCli(['register', run.id, '--json', '--home', home.path], {
      env: {MORPHO_LOCK_STALE_MS: '5000', MORPHO_LOCK_TIMEOUT_MS: '500'},
    })
    expect(res.code).toBe(5)
    const {error} = parseJson<ErrorOut>(res.stdout)
    expect(error.code).toBe('REGISTRY_BUSY')
    expect(error.hint).toContain(`is in the future`)
    expect(error.hint).toContain(`rmdir ${lock}`)
    expect(error.details).toMatchObject({lock, lockTime: future.toISOString()})
  })

  it('refuses a plain file named registry.lock with the command that removes it, writing nothing', async () => {
    const run = await makeRun(home.path)
    await writeFile(lock, 'not a lock\n')
    for (const age of ['young', 'old']) {
      if (age === 'old') {
        const past = new Date(Date.now() - HOUR)
        await utimes(lock, past, past)
      }
      const res = await runCli(['register', run.id, '--json', '--home', home.path], {
        env: {MORPHO_LOCK_TIMEOUT_MS: '2000'},
      })
      expect(res.code, `${age}: ${res.stdout}`).toBe(7)
      const {error} = parseJson<ErrorOut>(res.stdout)
      expect(error.code).toBe('INTEGRITY')
      expect(error.message).toBe(
        `${lock} is a file, not morpho's lock folder: no morpho process holds it, and no registry write can take the lock while it is there`,
      )
      expect(error.hint).toBe(`Remove it (rm ${lock}) and run the command again; nothing was written.`)
      expect(await readdir(home.path)).not.toContain('registry.json')
    }
    await rm(lock)
    const again = await runCli(['register', run.id, '--json', '--home', home.path])
    expect(again.code, again.stdout).toBe(0)
  })
})
