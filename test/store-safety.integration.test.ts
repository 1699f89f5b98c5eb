import {mkdir, readdir, rm, symlink, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parseJson, runCli, spawnCli, tempDir} from './helpers/cli.js'

/**
 * What the store holds is never obeyed or followed: bytes of a damaged registry.json are not
 * passed to the terminal as escape sequences, and a symbolic link put in place of a run's file
 * is refused instead of read (by the CLI and by the page's API).
 */

interface ErrorOut {
  error: {code: string; exitCode: number; message: string; details?: Record<string, unknown>}
}

const ESC = '\u001b'
const TINY = ['--samples', '120', '--hidden-dim', '8', '--num-layers', '2', '--warm-up-epochs', '2']

describe('store safety (built CLI)', () => {
  let home: {path: string; cleanup: () => Promise<void>}
  let runId: string
  beforeAll(async () => {
    home = await tempDir()
    const res = await runCli([
      'train',
      ...TINY,
      '--adaptation-epochs',
      '1',
      '--no-register',
      '--json',
      '--home',
      home.path,
    ])
    expect(res.code, res.stderr).toBe(0)
    runId = parseJson<{run: {runId: string}}>(res.stdout).run.runId
  })
  afterAll(() => home.cleanup())

  it("never writes a corrupt registry.json's escape sequences to the terminal", async () => {
    const store = await tempDir()
    // A clear-screen, a colour and a window-title sequence where JSON should be.
    await writeFile(join(store.path, 'registry.json'), `${ESC}[2J${ESC}[31mred${ESC}]0;owned\u0007 {`)
    const human = await runCli(['list', '--home', store.path])
    expect(human.code).toBe(7)
    expect(human.stderr).not.toContain(ESC)
    expect(human.stderr).not.toContain('\u0007')
    expect(human.stderr).toContain('\\x1b[2J')
    const json = await runCli(['list', '--json', '--home', store.path])
    expect(json.code).toBe(7)
    const {error} = parseJson<ErrorOut>(json.stdout)
    expect(error.code).toBe('INTEGRITY')
    expect(error.message).not.toContain(ESC)
    expect(error.message).toMatch(/is not valid JSON \(.*\\x1b\[2J/)

    // A damaged field quotes the file too: a model name holding an escape sequence.
    const name = `m${ESC}[31m`
    await writeFile(
      join(store.path, 'registry.json'),
      JSON.stringify({schemaVersion: 1, models: {[name]: {name: 'other'}}, history: []}),
    )
    const field = await runCli(['list', '--home', store.path])
    expect(field.code).toBe(7)
    expect(field.stderr).not.toContain(ESC)
    expect(field.stderr).toContain('models.m\\x1b[31m.name')
    await store.cleanup()
  })

  it('refuses a run file that is a symbolic link (runs show: exit 7), instead of reading what it points at', async () => {
    const outside = join(home.path, '..', `outside-${process.pid}.jsonl`)
    await writeFile(outside, '{"epoch":1,"secret":"outside the store"}\n')
    const metrics = join(home.path, 'runs', runId, 'metrics.jsonl')
    await rm(metrics)
    await symlink(outside, metrics)
    try {
      const res = await runCli(['runs', 'show', runId, '--json', '--home', home.path])
      expect(res.code).toBe(7)
      expect(res.stdout).not.toContain('outside the store')
      const {error} = parseJson<ErrorOut>(res.stdout)
      expect(error).toMatchObject({code: 'INTEGRITY', details: {errno: 'ELOOP', path: metrics}})
      expect(error.message).toBe(
        `${metrics} is a symbolic link; morpho does not follow links inside its store (ELOOP on open)`,
      )

      // The page's API answers the same way: the outside file is never served.
      const ui = spawnCli(['ui', '--port', '0', '--home', home.path])
      let stderr = ''
      ui.stderr.on('data', (d) => {
        stderr += d
      })
      try {
        while (!/http:\/\/\S+/.test(stderr)) await new Promise((r) => setTimeout(r, 25))
        const url = /(http:\/\/[^/\s]+)/.exec(stderr)![1]!
        const api = await fetch(`${url}/api/runs/${runId}`)
        const body = await api.text()
        expect(api.status).toBe(422)
        expect(body).not.toContain('outside the store')
        expect(JSON.parse(body)).toMatchObject({
          code: 'INTEGRITY',
          error: `${metrics} is a symbolic link; morpho does not follow links inside its store (ELOOP on open)`,
        })
      } finally {
        ui.kill('SIGTERM')
      }
    } finally {
      await rm(outside, {force: true})
    }
  })

  it('refuses a run folder that is a symbolic link', async () => {
    const elsewhere = join(home.path, '..', `elsewhere-${process.pid}`)
    await mkdir(elsewhere, {recursive: true})
    await writeFile(join(elsewhere, 'run.json'), '{"id":"linked","status":"completed","problem":"outside"}\n')
    await symlink(elsewhere, join(home.path, 'runs', 'linked-run'))
    try {
      const res = await runCli(['runs', 'show', 'linked-run', '--json', '--home', home.path])
      expect(res.code).toBe(7)
      expect(parseJson<ErrorOut>(res.stdout).error.message).toBe(
        `${join(home.path, 'runs', 'linked-run')} is a symbolic link; morpho does not follow links inside its store`,
      )
      expect(await readdir(join(home.path, 'runs'))).toContain('linked-run')
      // The listing leaves it out, and says so (on stderr: --json's stdout keeps its shape).
      for (const json of [[], ['--json']]) {
        const list = await runCli(['runs', 'list', ...json, '--home', home.path])
        expect(list.code).toBe(0)
        expect(list.stdout).toContain(runId)
        expect(list.stdout).not.toContain('outside')
        expect(list.stderr).toContain(
          `skipped run linked-run: ${join(home.path, 'runs', 'linked-run')} is a symbolic link; morpho does not follow links inside its store`,
        )
      }
    } finally {
      await rm(join(home.path, 'runs', 'linked-run'))
      await rm(elsewhere, {recursive: true, force: true})
    }
  })
})
