import {createServer, type Server, type Socket} from 'node:net'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {promote, registerRun, setAlias} from '../../src/registry/index.js'
import {runCli, tempDir} from '../helpers/cli.js'
import {freePort} from '../helpers/postgres.js'
import {makeRun} from '../helpers/runs.js'
import {openTestStore, type TestStore} from '../helpers/stores.js'

/**
 * Shell completion on the team store: `morpho __complete` (what the scripts of `morpho
 * autocomplete` call on each Tab) reads models, versions, aliases, metrics and run ids from
 * the store that --store or MORPHO_STORE names, a real PostgreSQL database here, and a
 * database that cannot be reached makes a Tab offer nothing instead of hanging the shell.
 */

describe('shell completion from a PostgreSQL store (built CLI)', () => {
  let pg: TestStore
  let emptyHome: {path: string; cleanup: () => Promise<void>}
  const runIds: string[] = []

  beforeAll(async () => {
    pg = await openTestStore('postgres')
    // A folder store that holds nothing: what MORPHO_HOME names must not be what is offered.
    emptyHome = await tempDir('morpho-complete-empty-')
    for (const id of ['moons-20261129-140307-aaaaaa', 'moons-20261130-090000-bbbbbb']) {
      runIds.push((await makeRun(pg.store, {id, problem: 'moons'})).id)
      await registerRun(pg.store, id, {})
    }
    await setAlias(pg.store, {alias: 'champion', version: 2})
    await promote(pg.store, {version: 1, stage: 'Production'})
  })
  afterAll(async () => {
    await pg.cleanup()
    await emptyHome.cleanup()
  })

  /** The candidates `morpho __complete` prints for the words after `morpho`. */
  const complete = async (env: Record<string, string | undefined>, ...words: string[]) => {
    const res = await runCli(['__complete', '--', ...words], {
      env: {MORPHO_HOME: join(emptyHome.path, 'store'), MORPHO_STORE: undefined, ...env},
    })
    expect(res.code, res.stderr).toBe(0)
    return res.stdout === '' ? [] : res.stdout.trimEnd().split('\n')
  }

  it('offers what the database named by MORPHO_STORE holds', async () => {
    const env = {MORPHO_STORE: pg.locator}
    expect(await complete(env, 'list', '--model', '')).toEqual(['moons'])
    expect(await complete(env, 'promote', 'Production', '--version', '')).toEqual([
      '2',
      '1',
      'champion',
      'latest',
      'production',
      'staging',
    ])
    expect(await complete(env, 'alias', 'delete', '')).toEqual(['champion'])
    expect(await complete(env, 'best', '--metric', 'val')).toEqual(['val_acc', 'val_loss'])
    expect(await complete(env, 'runs', 'show', '')).toEqual([...runIds].reverse())
    expect(await complete(env, 'register', 'moons-2026113')).toEqual([runIds[1]])
  })

  it('offers what --store on the line names, over MORPHO_STORE and MORPHO_HOME', async () => {
    expect(await complete({}, 'list', '--store', pg.locator, '--model', '')).toEqual(['moons'])
    expect(await complete({}, 'runs', 'show', '--store', pg.locator, '')).toEqual([...runIds].reverse())
    // --store naming the empty folder wins over MORPHO_STORE naming the database.
    expect(await complete({MORPHO_STORE: pg.locator}, 'list', '--store', emptyHome.path, '--model', '')).toEqual([])
  })

  describe('a database that cannot be reached', () => {
    let silent: Server
    let port: number
    const accepted: Socket[] = []
    const closedByClient: boolean[] = []

    beforeAll(async () => {
      // Accepts connections and never answers: a database behind a link that drops packets
      // after the handshake, or a stuck server. Only the client can end the wait.
      silent = createServer((socket) => {
        accepted.push(socket)
        const index = closedByClient.push(false) - 1
        socket.on('close', () => {
          closedByClient[index] = true
        })
        socket.on('error', () => undefined)
        // Read (and drop) what the client sends, so that its closing is seen.
        socket.resume()
      })
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
      port = (silent.address() as {port: number}).port
    })
    afterAll(async () => {
      for (const socket of accepted) socket.destroy()
      await new Promise((resolve) => silent.close(resolve))
    })

    it('offers nothing, at once, and gives up its connection, when the database never answers', async () => {
      const url = `postgres://morpho:s3cret-pw@127.0.0.1:${port}/morpho`
      for (const words of [
        ['list', '--model', ''],
        ['runs', 'show', ''],
      ]) {
        const before = accepted.length
        const started = Date.now()
        const res = await runCli(['__complete', '--', ...words], {env: {MORPHO_STORE: url}, timeoutMs: 60_000})
        const seconds = (Date.now() - started) / 1000
        expect(res).toMatchObject({code: 0, stdout: ''})
        expect(res.stderr).not.toContain('s3cret-pw')
        // It did try the database, and closed the connection itself (the server never would).
        expect(accepted.length).toBe(before + 1)
        await expect.poll(() => closedByClient.at(-1)).toBe(true)
        // Not a performance claim but the bound a Tab waits: 1.5 s for the store, after the
        // CLI's start. Without it pg waits 10 s to connect (and 30 s a query); a stuck
        // database would hang the shell that long on every Tab.
        expect(seconds, words.join(' ')).toBeLessThan(8)
      }
    })

    it('offers nothing when nothing listens at the address', async () => {
      const closed = await freePort()
      const res = await runCli(['__complete', '--', 'list', '--model', ''], {
        env: {MORPHO_STORE: `postgres://morpho@127.0.0.1:${closed}/morpho`},
        timeoutMs: 60_000,
      })
      expect(res).toMatchObject({code: 0, stdout: ''})
    })
  })
})
