import {execFile} from 'node:child_process'
import {readdir, readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {RunRecord} from '../src/tracking/types.js'
import type {EpochMetrics} from '../src/training/types.js'
import {BIN, parseJson, runCli, spawnCli, TINY, tempDir} from './helpers/cli.js'
import {expectShape} from './helpers/shapes.js'

interface Outcome {
  run: {
    runId: string
    status: string
    problem: string
    summary: RunRecord['summary']
    backend: {name: string}
    params: Record<string, unknown>
    seconds: number
  }
  registry: {messages: string[]; registered?: {model: string; version: number}; skipped?: string}
}

describe('morpho train (built CLI)', () => {
  let home: {path: string; cleanup: () => Promise<void>}
  beforeAll(async () => {
    home = await tempDir()
  })
  afterAll(() => home.cleanup())

  const readMetrics = async (id: string, store = home.path) =>
    (await readFile(join(store, 'runs', id, 'metrics.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as EpochMetrics)

  it('trains a tiny model, prints only the result on stdout with --json, and leaves the run on disk', async () => {
    const res = await runCli(['train', ...TINY, '--json', '--home', home.path, '--no-register'])
    expect(res.code).toBe(0)
    const out = parseJson<Outcome>(res.stdout)
    expectShape('train', out)
    expect(out.run).toMatchObject({status: 'completed', problem: 'spirals', backend: {name: 'wasm'}})
    expect(out.run.runId).toMatch(/^spirals-\d{8}-\d{6}-[0-9a-f]{6}$/)
    expect(Object.keys(out.run.summary!)).toEqual(
      expect.arrayContaining(['val_acc', 'val_loss', 'best_val_acc', 'seeds_germinated', 'parameters']),
    )
    expect(out.run.params).toMatchObject({hiddenDim: 8, numLayers: 2, seed: 42})
    expect(out.registry.skipped).toBe('auto-registration is off')
    // Progress went to stderr, one plain line per epoch off a terminal.
    expect(res.stderr.match(/epoch \d\/6/g)).toHaveLength(6)

    const dir = join(home.path, 'runs', out.run.runId)
    expect((await readdir(dir)).sort()).toEqual(['events.jsonl', 'metrics.jsonl', 'model', 'run.json'])
    expect((await readdir(join(dir, 'model'))).sort()).toEqual(['model.json', 'weights.bin'])
    const record = JSON.parse(await readFile(join(dir, 'run.json'), 'utf8')) as RunRecord
    expect(record).toMatchObject({id: out.run.runId, status: 'completed', problem: 'spirals', model: 'model'})
    expect(record.summary).toEqual(out.run.summary)
    const metrics = await readMetrics(out.run.runId)
    expect(metrics.map((m) => m.epoch)).toEqual([1, 2, 3, 4, 5, 6])
    const events = (await readFile(join(dir, 'events.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(events.at(-1)).toMatchObject({type: 'status', status: 'completed'})
  })

  it('gives identical metrics for the same --seed and backend, different for another seed', async () => {
    const run = async (seed: string) => {
      const res = await runCli([
        'train',
        ...TINY,
        '--seed',
        seed,
        '--json',
        '--quiet',
        '--home',
        home.path,
        '--no-register',
      ])
      expect(res.code).toBe(0)
      const id = parseJson<Outcome>(res.stdout).run.runId
      return (await readMetrics(id)).map(({seconds: _s, ...m}) => m)
    }
    const [a, b, c] = [await run('7'), await run('7'), await run('8')]
    expect(b).toEqual(a)
    expect(c).not.toEqual(a)
  })

  it('registers automatically above the threshold and says so', async () => {
    const res = await runCli([
      'train',
      ...TINY,
      '--register-at',
      '0',
      '--stage-at',
      '1',
      '--model',
      'tiny',
      '--home',
      home.path,
    ])
    expect(res.code).toBe(0)
    expect(res.stdout).toMatch(/registered tiny v1 \(val_acc [0-9.]+ >= 0\)/)
    const list = await runCli(['list', '--model', 'tiny', '--json', '--home', home.path])
    expect(list.code).toBe(0)

    // Each threshold turns off on its own: registered but not staged, then not registered at all.
    const noStage = await runCli([
      'train',
      ...TINY,
      '--register-at',
      '0',
      '--stage-at',
      'off',
      '--model',
      'tiny',
      '--home',
      home.path,
    ])
    expect(noStage.code, noStage.stderr).toBe(0)
    expect(noStage.stdout).toMatch(/registered tiny v2 /)
    expect(noStage.stdout).not.toMatch(/promoted/)
    const noRegister = await runCli(['train', ...TINY, '--register-at', 'OFF', '--model', 'tiny', '--home', home.path])
    expect(noRegister.code, noRegister.stderr).toBe(0)
    expect(noRegister.stdout).toMatch(/auto-registration is off/)
    const {versions} = parseJson<{versions: {version: number; stage: string}[]}>(
      (await runCli(['list', '--model', 'tiny', '--json', '--home', home.path])).stdout,
    )
    expect(versions.map((v) => v.version)).toEqual([2, 1])
    expect(versions[0]!.stage).toBe('None')
  })

  it('a failed --min-val-acc registers and promotes nothing: registry.json is byte-identical, and the error says so', async () => {
    const store = await tempDir()
    const first = await runCli(['train', ...TINY, '--register-at', '0', '--model', 'gated', '--home', store.path])
    expect(first.code, first.stderr).toBe(0)
    const registry = join(store.path, 'registry.json')
    const before = await readFile(registry)

    const res = await runCli([
      'train',
      ...TINY,
      ...['--register-at', '0', '--stage-at', '0', '--model', 'gated', '--min-val-acc', '1.0'],
      ...['--json', '--quiet', '--home', store.path],
    ])
    expect(res.code).toBe(3)
    const {error} = parseJson<{error: {code: string; message: string; hint: string; details: Record<string, unknown>}}>(
      res.stdout,
    )
    const runId = error.details.runId as string
    expect(error).toMatchObject({
      code: 'THRESHOLD_NOT_MET',
      message: expect.stringMatching(
        new RegExp(
          `^val_acc [0-9.]+ is below --min-val-acc 1: run ${runId} is saved; nothing was registered or promoted$`,
        ),
      ),
      hint: `Register it anyway with \`morpho register ${runId}\`.`,
    })
    expect(error.details).toEqual({
      runId,
      metric: 'val_acc',
      value: expect.any(Number),
      threshold: 1,
      passed: false,
      saved: true,
      registered: false,
      promoted: false,
    })
    expect(await readFile(registry)).toEqual(before)
    // The run itself is complete, with its model, and can still be registered by hand.
    const record = JSON.parse(await readFile(join(store.path, 'runs', runId, 'run.json'), 'utf8')) as RunRecord
    expect(record).toMatchObject({status: 'completed', model: 'model'})
    await store.cleanup()
  })

  it('scores a held-out test set that feeds no decision, and registers on test_acc with --gate-metric', async () => {
    const store = await tempDir()
    const train = (extra: string[]) =>
      runCli(['train', ...TINY, ...extra, '--model', 'scored', '--json', '--quiet', '--home', store.path])
    const withTest = await train(['--register-at', '0', '--gate-metric', 'test_acc'])
    const without = await train(['--no-register', '--test-samples', '0'])
    expect(withTest.code, withTest.stderr).toBe(0)
    expect(without.code, without.stderr).toBe(0)
    const a = parseJson<Outcome>(withTest.stdout)
    const b = parseJson<Outcome>(without.stdout)
    // Fresh rows of the generator (as many as --samples), scored on the saved model.
    expect(a.run.summary).toMatchObject({test_acc: expect.any(Number), test_loss: expect.any(Number)})
    expect(b.run.summary!.test_acc).toBeUndefined()
    // Every epoch, the selected checkpoint and the saved weights are the same without the test set.
    const strip = (ms: EpochMetrics[]) => ms.map(({seconds: _s, ...m}) => m)
    expect(strip(await readMetrics(a.run.runId, store.path))).toEqual(strip(await readMetrics(b.run.runId, store.path)))
    expect(a.run.summary!.selected_epoch).toBe(b.run.summary!.selected_epoch)
    const weights = (id: string) => readFile(join(store.path, 'runs', id, 'model', 'weights.bin'))
    expect(await weights(a.run.runId)).toEqual(await weights(b.run.runId))
    const record = JSON.parse(await readFile(join(store.path, 'runs', a.run.runId, 'run.json'), 'utf8')) as RunRecord
    expect(record.data).toMatchObject({samples: 240, train: 192, val: 48, test: 240})

    // The version records the test metrics and the rule that registered it.
    expect(a.registry.messages[0]).toMatch(/^registered scored v1 \(test_acc [0-9.]+ >= 0\)$/)
    const {versions} = parseJson<{versions: {metrics: Record<string, number>}[]}>(
      (await runCli(['list', '--model', 'scored', '--json', '--home', store.path])).stdout,
    )
    expect(versions[0]!.metrics).toMatchObject({
      test_acc: a.run.summary!.test_acc,
      test_loss: a.run.summary!.test_loss,
      test_ece: a.run.summary!.test_ece,
      selected_epoch: a.run.summary!.selected_epoch,
    })
    const none = await train(['--gate-metric', 'test_acc', '--test-samples', '0'])
    expect(none.code).toBe(2)
    expect(parseJson<{error: {message: string}}>(none.stdout).error.message).toBe(
      '--gate-metric test_acc needs a test set, and this run has none',
    )
    await store.cleanup()
  })

  it("takes the original runner's flag names: --problem-type, --n-samples, --device", async () => {
    const res = await runCli([
      'train',
      ...['--problem-type', 'moons', '--n-samples', '200', '--device', 'cuda'],
      ...['--warm-up-epochs', '2', '--adaptation-epochs', '1', '--no-register', '--json', '--home', home.path],
    ])
    expect(res.code, res.stderr).toBe(0)
    const {run} = parseJson<{run: {runId: string; params: Record<string, unknown>}}>(res.stdout)
    expect(run.params).toMatchObject({problem: 'moons', samples: 200})
    // The run's record holds moons' own parameters only: no spirals noise, no CSV limits.
    const record = JSON.parse(await readFile(join(home.path, 'runs', run.runId, 'run.json'), 'utf8')) as RunRecord
    expect(record.params).toMatchObject({problem: 'moons', samples: 200, moonNoise: 0.1, moonSep: 0.5})
    for (const key of ['noise', 'rotations', 'clusterCount', 'sphereRadii', 'data', 'maxRows', 'testFrac'])
      expect(record.params, key).not.toHaveProperty(key)
    expect(res.stderr).toMatch(/--device cuda: morpho has no GPU backend; training on the CPU/)
  })

  it('exits 2 for bad flags, naming the flag and value, before creating a run', async () => {
    const isolated = await tempDir()
    const cases: [string[], RegExp][] = [
      [['--hidden-dim', 'abc'], /--hidden-dim is not a number: "abc"/],
      [['--train-frac', '1.5'], /--train-frac is out of range: "1.5"/],
      [['--problem', 'circles'], /Expected --problem=circles to be one of/],
      [['--bogus'], /Unknown flag --bogus/],
      [['--hiden-dim', '8'], /Unknown flag --hiden-dim\n.*Did you mean --hidden-dim\?/],
      [['--register-at', '2'], /--register-at needs a number from 0 to 1 or off: "2"/],
    ]
    for (const [flags, message] of cases) {
      const res = await runCli(['train', ...flags, '--home', isolated.path])
      expect(res.code, flags.join(' ')).toBe(2)
      expect(res.stderr).toMatch(message)
    }
    const json = await runCli(['train', '--batch-size', '0', '--json', '--home', isolated.path])
    expect(json.code).toBe(2)
    expect(parseJson<{error: {code: string; message: string}}>(json.stdout).error).toMatchObject({
      code: 'USAGE',
      message: '--batch-size is out of range: "0"',
    })
    await expect(readdir(join(isolated.path, 'runs'))).rejects.toThrow(/ENOENT/)
    await isolated.cleanup()
  })

  it('exits 6 for bad data, naming the file and line', async () => {
    const csv = join(home.path, 'bad.csv')
    await writeFile(csv, '0.1,0.2,0\n0.3,0.4,1\n0.5,1\n')
    const ragged = await runCli(['train', '--data', csv, '--json', '--home', home.path])
    expect(ragged.code).toBe(6)
    const err = parseJson<{error: {code: string; message: string}}>(ragged.stdout).error
    expect(err.code).toBe('INVALID_DATA')
    expect(err.message).toMatch(/line 3/)
    const missing = await runCli(['train', '--data', join(home.path, 'nope.csv'), '--home', home.path])
    expect(missing.code).toBe(6)
    expect(missing.stderr).toMatch(/nope\.csv/)
  })

  it('trains on a CSV file and files the run under its name', async () => {
    const rows = Array.from({length: 120}, (_, i) => {
      const c = i % 2
      return `${(c ? 1 : -1) + Math.sin(i)},${Math.cos(i * 3)},${c}`
    })
    const csv = join(home.path, 'my-points.csv')
    await writeFile(csv, `x,y,label\n${rows.join('\n')}\n`)
    const res = await runCli([
      'train',
      '--data',
      csv,
      ...TINY.slice(2),
      '--json',
      '--quiet',
      '--home',
      home.path,
      '--no-register',
    ])
    expect(res.code).toBe(0)
    const out = parseJson<Outcome>(res.stdout)
    expect(out.run.problem).toBe('my-points')
    const record = JSON.parse(await readFile(join(home.path, 'runs', out.run.runId, 'run.json'), 'utf8')) as RunRecord
    // --test-frac 0.2 holds 24 rows out first; --train-frac 0.8 splits the other 96.
    expect(record.data).toMatchObject({
      kind: 'csv',
      samples: 120,
      features: 2,
      classes: 2,
      train: 76,
      val: 20,
      test: 24,
    })
    expect(record.summary).toMatchObject({
      test_acc: expect.any(Number),
      test_loss: expect.any(Number),
      test_ece: expect.any(Number),
    })
    expect(record.data.sha256).toMatch(/^[0-9a-f]{64}$/)
    // The record keeps only what shaped this run: the file, its limits and split, not a generator's parameters.
    expect(record.params).toMatchObject({data: csv, testFrac: 0.2, trainFrac: 0.8, dataSeed: 42, hiddenDim: 8})
    for (const key of [
      'problem',
      'samples',
      'inputDim',
      'noise',
      'rotations',
      'moonNoise',
      'clusterCount',
      'testSamples',
    ])
      expect(record.params, key).not.toHaveProperty(key)
  })

  it('marks a run interrupted on Ctrl-C and exits 130, leaving a complete run.json', async () => {
    const child = spawnCli([
      'train',
      '--samples',
      '2000',
      '--warm-up-epochs',
      '400',
      '--home',
      home.path,
      '--no-register',
    ])
    let stderr = ''
    child.stderr.on('data', (d) => {
      stderr += d
    })
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (/epoch\s+2\//.test(stderr)) {
          clearInterval(timer)
          resolve()
        }
      }, 50)
    })
    child.kill('SIGINT')
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)))
    expect(code).toBe(130)
    // oclif wraps long error lines; join them back before matching.
    const flat = stderr.replace(/\s*\n\s*›\s*/g, ' ')
    expect(flat).toMatch(/interrupted after \d+ epochs; run (\S+) is marked interrupted/)
    const id = /run (\S+) is marked interrupted/.exec(flat)![1]
    const record = JSON.parse(await readFile(join(home.path, 'runs', id, 'run.json'), 'utf8')) as RunRecord
    expect(record.status).toBe('interrupted')
    expect(record.endedAt).toBeTruthy()
    await expect(readdir(join(home.path, 'runs', id, 'model'))).rejects.toThrow(/ENOENT/)
  })

  it('draws a live progress line on a terminal, and plain lines on one that reports no width', async () => {
    // `script` gives the command a pseudo-terminal; stty sets (or not) its width. CI and TERM are
    // set as a terminal has them: a CI runner's CI=true or TERM=dumb turns the live line off.
    const onTerminal = (setup: string) =>
      new Promise<{code: number; out: string}>((resolve) => {
        const command = `${setup}env -u CI TERM=xterm-256color NODE_ENV=production MORPHO_BACKEND=wasm ${process.execPath} ${BIN} train ${TINY.join(' ')} --home ${home.path} --no-register`
        execFile('script', ['-qec', command, '/dev/null'], {timeout: 60_000}, (error, stdout) =>
          // Colours are on at a terminal: leave them out of what is matched.
          resolve({
            code: error ? (typeof error.code === 'number' ? error.code : 1) : 0,
            out: stdout.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, ''),
          }),
        )
      })
    const wide = await onTerminal('stty cols 120; ')
    expect(wide.code).toBe(0)
    // The spinner redraws one line in place (carriage returns), then the result follows.
    expect(wide.out).toMatch(/\r/)
    expect(wide.out).toMatch(/epoch 6\/6/)
    // Time so far, time per epoch and an estimate of the time left, then the total.
    expect(wide.out).toMatch(/epoch \d\/6 .* \d+s elapsed, \d+\.\d\ds\/epoch, ETA \d+s/)
    expect(wide.out).toMatch(/epoch 6\/6 .* \d+s in all/)
    expect(wide.out).toMatch(/spirals-\d{8}-\d{6}-[0-9a-f]{6}\s+spirals\s+wasm/)
    const widthless = await onTerminal('stty cols 0; ')
    expect(widthless.code).toBe(0)
    expect(widthless.out.match(/epoch \d\/6/g)).toHaveLength(6)
  })

  it('lists and shows runs, with --json shapes scripts can rely on', async () => {
    const list = await runCli(['runs', 'list', '--json', '--home', home.path])
    expect(list.code).toBe(0)
    const {runs} = parseJson<{runs: {runId: string; status: string; createdAt: string}[]}>(list.stdout)
    expectShape('runs list', parseJson(list.stdout))
    expect(runs.length).toBeGreaterThanOrEqual(5)
    expect(runs.map((r) => r.createdAt)).toEqual([...runs.map((r) => r.createdAt)].sort().reverse())
    const completed = runs.find((r) => r.status === 'completed')!
    const show = await runCli(['runs', 'show', completed.runId, '--json', '--home', home.path])
    expect(show.code).toBe(0)
    const details = parseJson<{run: {runId: string}; metrics: unknown[]; events: {type: string}[]}>(show.stdout)
    expectShape('runs show', details)
    expect(details.run.runId).toBe(completed.runId)
    expect(details.metrics).toHaveLength(6)
    expect(details.events.some((e) => e.type === 'phase')).toBe(true)

    const human = await runCli(['runs', 'show', completed.runId, '--home', home.path])
    expect(human.stdout).toMatch(/Parameters/)
    expect(human.stdout).toMatch(/^--hidden-dim\s+8$/m)

    const missing = await runCli(['runs', 'show', 'spirals-nope', '--home', home.path])
    expect(missing.code).toBe(4)
    const tricky = await runCli(['runs', 'show', '../../etc', '--home', home.path])
    expect(tricky.code).toBe(2)
  })
})
