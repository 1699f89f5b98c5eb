import {readdir, readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import type {RunRecord} from '../src/tracking/types.js'
import {parseJson, spawnCli, tempDir} from './helpers/cli.js'
import {makeRun} from './helpers/runs.js'

/**
 * SIGINT and SIGTERM stop the commands that run long besides `train` (whose own phases are in
 * test/limits.integration.test.ts): a sweep passes the signal on to its runs and waits for them
 * to be marked interrupted, whether the signal came to it alone (SIGTERM from a supervisor) or
 * to its whole process group (Ctrl-C at a terminal); `store copy` stops between two runs and
 * says what the target now holds. Each exits 130 with the INTERRUPTED envelope under --json.
 */

interface ErrorOut {
  error: {code: string; exitCode: number; message: string; hint?: string; details?: Record<string, unknown>}
}

/** The built CLI in a process group of its own, its output collected. */
function start(args: string[]) {
  const child = spawnCli(args, {detached: true})
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => {
    stdout += d
  })
  child.stderr.on('data', (d) => {
    stderr += d
  })
  const exit = new Promise<number | string | null>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? signal)),
  )
  return {child, exit, stdout: () => stdout, stderr: () => stderr}
}

async function until(check: () => boolean, what: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

/** The exit code (or signal), or 'running' if the process is still there `ms` after the signal. */
async function exitWithin(p: ReturnType<typeof start>, ms: number) {
  const timer = new Promise<'running'>((resolve) => setTimeout(() => resolve('running'), ms))
  const result = await Promise.race([p.exit, timer])
  if (result === 'running') process.kill(-p.child.pid!, 'SIGKILL')
  return result
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Waits until the sweep's first run has recorded an epoch (so it is training); its id, record and pid. */
async function firstRunTraining(p: ReturnType<typeof start>, runsDir: string) {
  await until(() => p.stderr().includes('[1/2]'), 'the first run to start')
  let runId = ''
  await until(() => {
    void readdir(runsDir)
      .then(async ([id]) => {
        if (id && (await readFile(join(runsDir, id, 'metrics.jsonl'), 'utf8')).length > 0) runId = id
      })
      .catch(() => {})
    return runId !== ''
  }, 'an epoch of the first run')
  const record = async () => JSON.parse(await readFile(join(runsDir, runId, 'run.json'), 'utf8')) as RunRecord
  const {pid} = await record()
  return {runId, record, pid}
}

describe('interrupting long commands (built CLI)', () => {
  const cleanups: (() => Promise<void>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c()
  })
  const dir = async () => {
    const d = await tempDir()
    cleanups.push(d.cleanup)
    return d.path
  }

  // A long first run: 16,000 training rows in batches of 16, a thousand steps an epoch.
  const LONG_SWEEP = ['sweep', '-p', 'hidden-dim=8,16', '--samples', '20000', '--batch-size', '16']
  const LONG_EPOCHS = ['--warm-up-epochs', '20000', '--adaptation-epochs', '3']

  it.each([
    ['SIGTERM to the sweep alone', 'SIGTERM', false],
    ['SIGINT to its process group, as Ctrl-C sends it', 'SIGINT', true],
  ] as const)(
    '%s: the run in progress is marked interrupted, none is left running, exit 130',
    async (_what, signal, group) => {
      const home = await dir()
      const p = start([...LONG_SWEEP, ...LONG_EPOCHS, '--json', '--home', home])
      const runsDir = join(home, 'runs')
      const {runId, record, pid} = await firstRunTraining(p, runsDir)

      process.kill(group ? -p.child.pid! : p.child.pid!, signal)
      const code = await exitWithin(p, 10_000)
      expect(code, p.stderr()).toBe(130)
      const {error} = parseJson<ErrorOut>(p.stdout())
      expect(error).toMatchObject({code: 'INTERRUPTED', exitCode: 130, details: {done: 1, total: 2}})
      expect(error.message).toMatch(/^Sweep interrupted; summary in /)
      expect(p.stderr()).toMatch(
        /\[1\/2\] failed: Training interrupted after \d+ epochs; run \S+ is marked interrupted/,
      )
      // The run says so, its process is gone, and the second combination never started.
      expect(await record()).toMatchObject({status: 'interrupted'})
      expect(alive(pid!)).toBe(false)
      expect(await readdir(runsDir)).toEqual([runId])
    },
  )

  it('SIGKILL to the sweep alone: its run notices the sweep is gone, is marked interrupted and ends', async () => {
    const home = await dir()
    const p = start([...LONG_SWEEP, ...LONG_EPOCHS, '--json', '--home', home])
    const runsDir = join(home, 'runs')
    const {runId, record, pid} = await firstRunTraining(p, runsDir)

    // Nothing is passed on: the sweep is gone at once, its run is adopted by another parent.
    p.child.kill('SIGKILL')
    expect(await p.exit).toBe('SIGKILL')
    let status = ''
    await until(
      () => {
        void record()
          .then((r) => {
            status = r.status
          })
          .catch(() => {})
        return status === 'interrupted' && !alive(pid!)
      },
      'the orphaned run to stop',
      15_000,
    )
    expect(await readdir(runsDir)).toEqual([runId])
  })

  it('train whose progress reader went away (`morpho train 2>&1 | head`): the run is marked interrupted, exit 130', async () => {
    const home = await dir()
    const p = start(['train', ...LONG_EPOCHS, '--samples', '20000', '--batch-size', '16', '--home', home])
    await until(() => /epoch +1\//.test(p.stderr()), 'the first epoch line')
    // As `head` does once it has its lines: the read end closes, the next write is EPIPE.
    p.child.stderr.destroy()
    p.child.stdout.destroy()
    expect(await exitWithin(p, 10_000)).toBe(130)
    const [runId] = await readdir(join(home, 'runs'))
    const record = JSON.parse(await readFile(join(home, 'runs', runId!, 'run.json'), 'utf8')) as RunRecord
    expect(record.status).toBe('interrupted')
  })

  it('store copy: SIGINT stops it between two runs, and it says what the target holds', async () => {
    const from = await dir()
    const to = join(await dir(), 'copy')
    for (let i = 0; i < 400; i++)
      await makeRun(from, {id: `spirals-20261201-120000-${i.toString(16).padStart(6, '0')}`})
    const p = start(['store', 'copy', '--from', from, '--to', to, '--json'])
    await until(() => p.stderr().includes('400 runs, 0 versions verified'), 'the copy to start')
    process.kill(p.child.pid!, 'SIGINT')
    const code = await exitWithin(p, 10_000)
    expect(code, p.stderr()).toBe(130)
    const {error} = parseJson<ErrorOut>(p.stdout())
    expect(error.code).toBe('INTERRUPTED')
    const copied = await readdir(join(to, 'runs')).catch(() => [] as string[])
    // Each run is there whole or not at all; the registry is not written.
    expect(copied.length).toBeLessThan(400)
    if (copied.length === 0) expect(error.message).toBe(`store copy interrupted; nothing was written to ${to}`)
    else {
      expect(error.message).toBe(
        `store copy interrupted after ${copied.length} of 400 runs; the registry and sweeps were not copied`,
      )
      expect(error.hint).toBe(
        `${to} now holds a partial copy: empty it (or give --to a new store) before copying again.`,
      )
    }
    for (const id of copied) expect(JSON.parse(await readFile(join(to, 'runs', id, 'run.json'), 'utf8')).id).toBe(id)
    expect(await readdir(to)).not.toContain('registry.json')
  })
})
