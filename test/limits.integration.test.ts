import type {ChildProcess} from 'node:child_process'
import {execFileSync} from 'node:child_process'
import {open, readdir, readFile, truncate, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {RunRecord} from '../src/tracking/types.js'
import {parseJson, runCli, spawnCli, tempDir} from './helpers/cli.js'

/**
 * Bounded work and signals, against the built CLI: size flags have upper bounds, a data file
 * is streamed within limits, and SIGINT/SIGTERM stop a run in whichever phase it is.
 */

interface ErrorOut {
  error: {code: string; exitCode: number; message: string; hint?: string; details?: Record<string, unknown>}
}

/** Lines oclif wrapped joined back, so a message can be matched whole. */
const flat = (text: string) => text.replace(/\s*\n\s*›\s*/g, ' ')

function collect(child: ChildProcess): {stderr: () => string; exit: Promise<number | null>} {
  let stderr = ''
  child.stderr?.on('data', (d) => {
    stderr += d
  })
  child.stdout?.resume()
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return {stderr: () => stderr, exit}
}

async function until(check: () => boolean, what: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

/** The exit code, or 'running' if the process has not exited `ms` after the signal. */
async function exitAfter(child: ChildProcess, exit: Promise<number | null>, ms: number) {
  const timer = new Promise<'running'>((resolve) => setTimeout(() => resolve('running'), ms))
  const result = await Promise.race([exit, timer])
  if (result === 'running') child.kill('SIGKILL')
  return result
}

describe('size limits and signals (built CLI)', () => {
  let home: {path: string; cleanup: () => Promise<void>}
  beforeAll(async () => {
    home = await tempDir()
  })
  afterAll(() => home.cleanup())

  const runsMade = async () => readdir(join(home.path, 'runs')).catch(() => [] as string[])

  it.each([
    ['--hidden-dim', '1000000', '<= 4096'],
    ['--num-layers', '1e9', '<= 256'],
    ['--samples', '1000000000', '<= 1000000'],
    ['--seeds-per-layer', '100', '<= 16'],
    ['--batch-size', '10000000', '<= 1000000'],
    ['--warm-up-epochs', '1e9', '<= 100000'],
  ])('refuses %s %s with exit 2 and the bound, before any run exists', async (flag, value, bound) => {
    const res = await runCli(['train', flag, value, '--json', '--home', home.path])
    expect(res.code).toBe(2)
    const {error} = parseJson<ErrorOut>(res.stdout)
    expect(error).toMatchObject({code: 'USAGE', exitCode: 2})
    expect(error.message).toBe(`${flag} is out of range: "${value}"`)
    expect(error.hint).toContain(bound)
    expect(await runsMade()).toEqual([])
  })

  it('refuses flags that together make a network or a step too big, naming the flags to lower', async () => {
    const wide = await runCli(['train', '--hidden-dim', '1024', '--json', '--home', home.path])
    expect(wide.code).toBe(2)
    const big = parseJson<ErrorOut>(wide.stdout).error
    expect(big.message).toBe(
      '--hidden-dim 1024, --num-layers 8 and --seeds-per-layer 1 make a network of 75,552,770 parameters once every seed has grown; morpho trains at most 20,000,000',
    )
    expect(big.hint).toMatch(/Lower --hidden-dim/)

    const batch = await runCli(['train', '--hidden-dim', '512', '--batch-size', '4096', '--json', '--home', home.path])
    expect(batch.code).toBe(2)
    expect(parseJson<ErrorOut>(batch.stdout).error.message).toMatch(
      /^a batch of 1,600 rows through 18,902,018 parameters is [\d,]+ multiply-adds per step; morpho allows 4,000,000,000/,
    )

    const cells = await runCli(['train', '--samples', '1000000', '--input-dim', '100', '--json', '--home', home.path])
    expect(cells.code).toBe(2)
    expect(parseJson<ErrorOut>(cells.stdout).error.message).toBe(
      '1,000,000 rows × --input-dim 100 is 100,000,000 values to generate; morpho generates at most 4,000,000',
    )
    expect(await runsMade()).toEqual([])
  })

  it('stops reading /dev/zero at the line limit at once, naming the limit and its flag', async () => {
    const res = await runCli(['train', '--data', '/dev/zero', '--json', '--home', home.path], {timeoutMs: 30_000})
    expect(res.code).toBe(6)
    const {error} = parseJson<ErrorOut>(res.stdout)
    expect(error.message).toBe(
      '/dev/zero: line 1 is longer than the --max-line-bytes limit of 1048576 bytes (1310720 so far)',
    )
    expect(error.hint).toContain('--max-line-bytes')
    expect(await runsMade()).toEqual([])
  })

  it('refuses a 400 MB file by its size, and without a newline by its line length when the size is allowed', async () => {
    // Sparse: 400 MB of zero bytes without a newline, taking no disk.
    const file = join(home.path, 'no-newline.csv')
    await writeFile(file, '')
    await truncate(file, 400_000_000)
    const bySize = await runCli(['train', '--data', file, '--json', '--home', home.path])
    expect(bySize.code).toBe(6)
    expect(parseJson<ErrorOut>(bySize.stdout).error).toMatchObject({
      message: `${file}: the file is 400000000 bytes, above the --max-data-bytes limit of 104857600`,
      details: {flag: 'max-data-bytes', limit: 104857600, size: 400000000},
    })
    const byLine = await runCli([
      'train',
      '--data',
      file,
      '--max-data-bytes',
      '1000000000',
      '--json',
      '--home',
      home.path,
    ])
    expect(byLine.code).toBe(6)
    expect(parseJson<ErrorOut>(byLine.stdout).error.details).toMatchObject({flag: 'max-line-bytes', line: 1})
    expect(await runsMade()).toEqual([])
  })

  it('counts rows against --max-rows, and says so', async () => {
    const file = join(home.path, 'rows.csv')
    await writeFile(file, `x,label\n${Array.from({length: 11}, (_, i) => `${i},${i % 2}`).join('\n')}\n`)
    const res = await runCli(['train', '--data', file, '--max-rows', '10', '--json', '--home', home.path])
    expect(res.code).toBe(6)
    const {error} = parseJson<ErrorOut>(res.stdout)
    expect(error.message).toBe(`${file}: more than 10 data rows (line 12), above the --max-rows limit`)
    expect(error.hint).toContain('--max-rows')
  })

  it('refuses a CSV too small to split (2 rows) instead of validating on one row', async () => {
    const file = join(home.path, 'two.csv')
    await writeFile(file, '0.1,0\n0.9,1\n')
    const res = await runCli(['train', '--data', file, '--json', '--home', home.path])
    expect(res.code).toBe(6)
    const {error} = parseJson<ErrorOut>(res.stdout)
    // The test rows (--test-frac 0.2) come off first, and need at least 2 rows too.
    expect(error.message).toBe(
      `${file} has 2 data rows, too few to split: --test-frac 0.2 holds out 0 test rows and --train-frac 0.8 leaves 1 training and 1 validation rows, and each part needs at least 2`,
    )
    expect(error.hint).toBe('Use 10 rows or more, or a --train-frac nearer 0.5 (or --test-frac 0: no test set).')
    const noTest = await runCli(['train', '--data', file, '--test-frac', '0', '--json', '--home', home.path])
    expect(parseJson<ErrorOut>(noTest.stdout).error.message).toBe(
      `${file} has 2 data rows, too few to split: --train-frac 0.8 leaves 1 training and 1 validation rows, and each side needs at least 2`,
    )
    expect(parseJson<ErrorOut>(noTest.stdout).error.hint).toBe('Use 6 rows or more, or a --train-frac nearer 0.5.')
    expect(await runsMade()).toEqual([])
  })

  it('SIGINT while the data is still arriving through a pipe: exit 130 at once, no run left behind', async () => {
    const fifo = join(home.path, 'slow.fifo')
    execFileSync('mkfifo', [fifo])
    const child = spawnCli(['train', '--data', fifo, '--home', home.path])
    const out = collect(child)
    // Opening the pipe for writing waits for the reader: once it returns, train is reading.
    const writer = await open(fifo, 'w')
    await writer.write('x,y,label\n0.1,0.2,0\n')
    await new Promise((r) => setTimeout(r, 300))
    child.kill('SIGINT')
    const code = await exitAfter(child, out.exit, 5_000)
    await writer.close()
    expect(code).toBe(130)
    expect(flat(out.stderr())).toContain(`Interrupted while reading ${fifo} (at line 2); no run was started`)
    expect(await runsMade()).toEqual([])
  })

  it('SIGTERM in the middle of a long epoch stops within moments and marks the run interrupted', async () => {
    // 320,000 training rows in batches of 16: one epoch is 20,000 steps, tens of seconds here.
    const child = spawnCli(['train', '--samples', '400000', '--batch-size', '16', '--no-register', '--home', home.path])
    const out = collect(child)
    await until(() => /phase 1 \(warm-up\)/.test(out.stderr()), 'training to start')
    await new Promise((r) => setTimeout(r, 500))
    child.kill('SIGTERM')
    const code = await exitAfter(child, out.exit, 5_000)
    expect(code).toBe(130)
    const id = /run (\S+) is marked interrupted/.exec(flat(out.stderr()))?.[1]
    expect(flat(out.stderr())).toContain('Training interrupted after 0 epochs')
    const record = JSON.parse(await readFile(join(home.path, 'runs', id!, 'run.json'), 'utf8')) as RunRecord
    expect(record).toMatchObject({status: 'interrupted'})
    expect(record.endedAt).toBeTruthy()
  })
})
