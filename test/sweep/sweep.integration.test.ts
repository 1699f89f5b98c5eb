import {readdir, readFile, writeFile} from 'node:fs/promises'
import {availableParallelism} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {RunRecord} from '../../src/tracking/types.js'
import {parseJson, runCli, tempDir} from '../helpers/cli.js'
import {expectShape} from '../helpers/shapes.js'

interface Outcome {
  id: string
  metric: string
  runs: {index: number; params: Record<string, unknown>; status: string; runId: string; value: number}[]
  best: {runId: string; value: number; params: Record<string, unknown>}
  registered?: {model: string; version: number; runId: string}
  file: string
}

describe('morpho sweep (built CLI)', () => {
  let home: {path: string; cleanup: () => Promise<void>}
  beforeAll(async () => {
    home = await tempDir()
  })
  afterAll(() => home.cleanup())

  it('runs a 2×2 grid as 4 tracked runs, ranks them, and registers the best', async () => {
    const file = join(home.path, 'sweep.yaml')
    await writeFile(
      file,
      [
        'parameters:',
        '  hidden-dim: [8, 16]',
        '  lr: "0.003,0.01"',
        'fixed:',
        '  samples: 240',
        '  num-layers: 2',
        '  warm-up-epochs: 3',
        '  adaptation-epochs: 2',
        '',
      ].join('\n'),
    )
    const res = await runCli([
      'sweep',
      '--config',
      file,
      '--parallel',
      '2',
      '--register-best',
      '--model',
      'grid',
      '--json',
      '--home',
      home.path,
    ])
    expect(res.code, res.stderr).toBe(0)
    const out = parseJson<Outcome>(res.stdout)
    expectShape('sweep', out)
    expect(out.id).toMatch(/^sweep-\d{8}-\d{6}-[0-9a-f]{6}$/)
    expect(out.metric).toBe('val_acc')
    expect(out.runs).toHaveLength(4)
    expect(new Set(out.runs.map((r) => JSON.stringify(r.params))).size).toBe(4)
    expect(res.stderr.match(/\[\d\/4\] val_acc/g)).toHaveLength(4)

    // The ranking agrees with what each run recorded on disk.
    const recorded = await Promise.all(
      out.runs.map(async (r) => {
        const record = JSON.parse(await readFile(join(home.path, 'runs', r.runId, 'run.json'), 'utf8')) as RunRecord
        expect(record.params).toMatchObject({
          hiddenDim: r.params['hidden-dim'],
          lr: r.params.lr,
          numLayers: 2,
          samples: 240,
        })
        return {runId: r.runId, index: r.index, acc: record.summary!.val_acc}
      }),
    )
    const expected = [...recorded].sort((a, b) => b.acc - a.acc || a.index - b.index)
    expect(out.runs.map((r) => r.runId)).toEqual(expected.map((r) => r.runId))
    expect(out.best.runId).toBe(expected[0].runId)
    expect(out.best.value).toBe(expected[0].acc)
    expect(out.registered).toEqual({model: 'grid', version: 1, runId: out.best.runId})
    const summary = JSON.parse(await readFile(out.file, 'utf8'))
    expect(summary.best.runId).toBe(out.best.runId)
  })

  it('trains each run on one thread when runs go side by side (--parallel 2), on every core it may otherwise', async () => {
    const store = await tempDir()
    const file = join(store.path, 'sweep.yaml')
    await writeFile(
      file,
      [
        'parameters:',
        '  hidden-dim: [8, 16]',
        'fixed:',
        '  samples: 240',
        '  num-layers: 2',
        '  warm-up-epochs: 2',
        '  adaptation-epochs: 1',
        '',
      ].join('\n'),
    )
    const threads = async (parallel: string) => {
      const res = await runCli(['sweep', '--config', file, '--parallel', parallel, '--json', '--home', store.path], {
        env: {MORPHO_BACKEND: 'cpu', MORPHO_TRAIN_THREADS: undefined},
      })
      expect(res.code, res.stderr).toBe(0)
      const out = parseJson<Outcome>(res.stdout)
      return Promise.all(
        out.runs.map(async (r) => {
          const record = JSON.parse(await readFile(join(store.path, 'runs', r.runId, 'run.json'), 'utf8')) as RunRecord
          expect(record.backend.name).toBe('cpu')
          return record.backend.threads
        }),
      )
    }
    expect(await threads('2')).toEqual([1, 1])
    // One run at a time: the cpu step may use a second thread where the machine has a second core.
    const alone = availableParallelism() > 1 ? 2 : 1
    expect(await threads('1')).toEqual([alone, alone])
    await store.cleanup()
  })

  it("runs the original's flat sweep file from `morpho train -s`, with the command line under every run", async () => {
    const store = await tempDir()
    const file = join(store.path, 'original.yaml')
    // The original's names: snake_case keys and problem_type.
    await writeFile(file, 'hidden_dim: [8, 16]\nproblem_type: moons\n')
    const res = await runCli([
      'train',
      '-s',
      file,
      ...['--warm-up-epochs', '2', '--adaptation-epochs', '1', '--n-samples', '300'],
      // Set by the file too: the file's values win, as with the original.
      ...['--hidden-dim', '32'],
      ...['--json', '--home', store.path],
    ])
    expect(res.code, res.stderr).toBe(0)
    const out = parseJson<Outcome>(res.stdout)
    expect(out.runs.map((r) => r.params)).toEqual([
      {'hidden-dim': 8, problem: 'moons'},
      {'hidden-dim': 16, problem: 'moons'},
    ])
    for (const r of out.runs) {
      const record = JSON.parse(await readFile(join(store.path, 'runs', r.runId, 'run.json'), 'utf8')) as RunRecord
      expect(record.params).toMatchObject({hiddenDim: r.params['hidden-dim'], samples: 300, problem: 'moons'})
      expect(record.summary!.epochs).toBe(3)
    }
    await store.cleanup()
  })

  it('ranks a loss or a calibration error lowest first without being told, as best does', async () => {
    const store = await tempDir()
    const res = await runCli([
      'sweep',
      ...['--problem', 'moons', '--param', 'seed=1,2', '--metric', 'test_ece'],
      ...['--warm-up-epochs', '2', '--adaptation-epochs', '1', '--samples', '240', '--hidden-dim', '8'],
      ...['--json', '--home', store.path],
    ])
    expect(res.code, res.stderr).toBe(0)
    const out = parseJson<{lowerIsBetter: boolean; runs: {value: number}[]; best: {value: number}}>(res.stdout)
    expectShape('sweep', out)
    expect(out.lowerIsBetter).toBe(true)
    const values = out.runs.map((r) => r.value)
    expect(values).toHaveLength(2)
    expect(out.best.value).toBe(Math.min(...values))
    await store.cleanup()
  })

  it('refuses a bad sweep file with a clear error, and starts no run', async () => {
    const store = await tempDir()
    const cases: [string, string, RegExp][] = [
      [
        'unknown.yaml',
        'parameters:\n  hidden-dims: [8, 16]\n',
        /Unknown training flag "hidden-dims" in .*unknown\.yaml/,
      ],
      ['value.yaml', 'parameters:\n  lr: [0.01, -1]\n', /Bad value for lr in .*value\.yaml: -1/],
      ['broken.yaml', 'parameters: [unclosed\n', /is not valid YAML/],
      ['combo.yaml', 'parameters:\n  warm-up-epochs: [0]\nfixed:\n  adaptation-epochs: 0\n', /Nothing to train/],
    ]
    for (const [name, text, message] of cases) {
      const file = join(store.path, name)
      await writeFile(file, text)
      const res = await runCli(['sweep', '--config', file, '--json', '--home', store.path])
      expect(res.code, name).not.toBe(0)
      expect([2, 6]).toContain(res.code)
      expect(parseJson<{error: {message: string}}>(res.stdout).error.message).toMatch(message)
    }
    const missing = await runCli(['sweep', '--config', join(store.path, 'nope.yaml'), '--home', store.path])
    expect(missing.code).toBe(6)
    const folder = await runCli(['train', '-s', store.path, '--json', '--home', store.path])
    expect(folder.code).toBe(6)
    expect(parseJson<{error: {message: string; hint: string}}>(folder.stdout).error).toMatchObject({
      message: `Cannot read sweep file ${store.path}: it is a folder`,
      hint: 'Give one sweep file; for a folder of them, run one sweep per file.',
    })
    await expect(readdir(join(store.path, 'runs'))).rejects.toThrow(/ENOENT/)
    await store.cleanup()
  })
})
