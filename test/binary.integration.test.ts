import {execFile, spawn} from 'node:child_process'
import {copyFile, mkdir} from 'node:fs/promises'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parseJson, ROOT, tempDir} from './helpers/cli.js'
import {openTestStore} from './helpers/stores.js'

/**
 * The single-file executable: built from the current dist/, copied alone into an empty
 * folder, and run with a PATH that has no node and no node_modules anywhere near it.
 */
describe('morpho as a single executable', () => {
  let dir: {path: string; cleanup: () => Promise<void>}
  let binary: string
  const env = () => ({PATH: join(dir.path, 'empty-bin'), HOME: join(dir.path, 'home'), NO_COLOR: '1'})

  const run = (args: string[]) =>
    new Promise<{code: number; stdout: string; stderr: string}>((resolve) => {
      execFile(binary, args, {cwd: dir.path, env: env(), timeout: 120_000}, (error, stdout, stderr) =>
        resolve({code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr}),
      )
    })

  beforeAll(async () => {
    await new Promise<void>((resolve, reject) =>
      execFile(
        process.execPath,
        [join(ROOT, 'src', 'build', 'build-binary.mjs')],
        {cwd: ROOT, timeout: 240_000},
        (err, _o, stderr) => (err ? reject(new Error(`build-binary failed: ${stderr}`)) : resolve()),
      ),
    )
    dir = await tempDir('morpho-binary-')
    await mkdir(join(dir.path, 'empty-bin'))
    await mkdir(join(dir.path, 'home'))
    binary = join(dir.path, 'morpho')
    await copyFile(join(ROOT, 'build', 'morpho'), binary)
  }, 300_000)
  afterAll(() => dir?.cleanup())

  it('answers --version and doctor with no node on PATH', async () => {
    const version = await run(['--version'])
    expect(version.code).toBe(0)
    expect(version.stdout).toMatch(/^morpho\/\d+\.\d+\.\d+ linux-x64 node-v20/)
    // The hooks and the completion command travel inside the executable too.
    const typo = await run(['tran'])
    expect(typo.code).toBe(2)
    expect(typo.stderr).toMatch(/Did you mean morpho train\?/)
    expect((await run(['__complete', '--', 'pro'])).stdout).toBe('production\npromote\n')
    const doctor = await run(['doctor', '--json'])
    expect(doctor.code).toBe(0)
    expect(parseJson<{install: string; backend: {name: string}}>(doctor.stdout)).toMatchObject({
      install: 'binary',
      backend: {name: 'wasm'},
    })
  })

  it('trains on the embedded WebAssembly backend, registers, lists and promotes', async () => {
    const train = await run([
      ...['train', '--samples', '240', '--hidden-dim', '8', '--num-layers', '2'],
      ...['--warm-up-epochs', '3', '--adaptation-epochs', '3', '--register-at', '0', '--stage-at', '1', '--json'],
    ])
    expect(train.code, train.stderr).toBe(0)
    const out = parseJson<{run: {backend: {name: string}}; registry: {registered: {model: string; version: number}}}>(
      train.stdout,
    )
    expect(out.run.backend.name).toBe('wasm')
    expect(out.registry.registered).toMatchObject({model: 'spirals', version: 1})

    const promote = await run(['promote', 'Production', '--version', '1', '--json'])
    expect(promote.code, promote.stderr).toBe(0)
    const list = await run(['list', '--json'])
    expect(list.code).toBe(0)
    expect(list.stdout).toMatch(/"stage": "Production"/)
  })

  it('exports the model to ONNX, TF.js and an archive, and imports the archive, from the executable alone', async () => {
    for (const [format, out] of [
      ['onnx', 'spirals.onnx'],
      ['tfjs', 'web'],
      ['archive', 'spirals-v1.tgz'],
    ]) {
      const res = await run(['export', 'spirals@1', '--format', format!, '--out', out!, '--json'])
      expect(res.code, res.stderr).toBe(0)
      expect(parseJson<{files: {sha256: string}[]}>(res.stdout).files[0]!.sha256).toMatch(/^[0-9a-f]{64}$/)
    }
    const imported = await run(['import', 'spirals-v1.tgz', '--home', 'other-store', '--json'])
    expect(imported.code, imported.stderr).toBe(0)
    expect(parseJson<{model: string; version: number}>(imported.stdout)).toMatchObject({model: 'spirals', version: 1})
    // The TF.js export runs on the embedded TF.js (ONNX Runtime is not part of the executable).
    const predict = await run(['predict', '--model-file', 'web', '--data', '[[0.1, 0.2, 0.3]]', '--json'])
    expect(predict.code, predict.stderr).toBe(0)
  })

  it('works against a PostgreSQL store: trains into it, promotes and lists from it', async () => {
    const pg = await openTestStore('postgres')
    try {
      const train = await run([
        ...['train', '--samples', '160', '--hidden-dim', '8', '--num-layers', '1', '--store', pg.locator],
        ...['--warm-up-epochs', '2', '--adaptation-epochs', '2', '--register-at', '0', '--stage-at', 'off', '--json'],
      ])
      expect(train.code, train.stderr).toBe(0)
      expect((await run(['promote', 'Production', '--version', '1', '--store', pg.locator])).code).toBe(0)
      const production = await run(['production', '--json', '--store', pg.locator])
      expect(production.code, production.stderr).toBe(0)
      expect(parseJson(production.stdout)).toMatchObject({model: 'spirals', version: 1, uri: 'models:/spirals/1'})
    } finally {
      await pg.cleanup()
    }
  })

  it('serves the model with its page, answers predict --url and health, and stops on SIGTERM', async () => {
    const server = spawn(binary, ['serve', '--port', '0'], {
      cwd: dir.path,
      env: env(),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let log = ''
    server.stderr.on('data', (d) => {
      log += d
    })
    try {
      const deadline = Date.now() + 60_000
      while (!/listening on (http:\/\/\S+?),/.test(log) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50))
      const url = /listening on (http:\/\/\S+?),/.exec(log)![1]

      const direct = await fetch(`${url}/predict`, {
        method: 'POST',
        headers: {'content-type': 'application/json'},
        body: JSON.stringify({data: [[0.1, 0.2, 0.3]]}),
      })
      expect(direct.status).toBe(200)
      const answer = (await direct.json()) as {predictions: number[]; model_version: string}
      expect(answer.model_version).toBe('1')

      const predict = await run(['predict', '--url', url, '--data', '[[0.1, 0.2, 0.3]]', '--json'])
      expect(predict.code, predict.stderr).toBe(0)
      expect(parseJson<{predictions: number[]}>(predict.stdout).predictions).toEqual(answer.predictions)
      expect((await run(['health', '--url', url])).code).toBe(0)

      // The web page and its chart library come out of the executable itself.
      const page = await fetch(`${url}/`)
      expect(page.status).toBe(200)
      expect(await page.text()).toContain('<html')
      const chart = await fetch(`${url}/assets/uplot.min.js`)
      expect(chart.status).toBe(200)
      expect((await chart.text()).length).toBeGreaterThan(10_000)
    } finally {
      server.kill('SIGTERM')
    }
    const code = await new Promise<number | null>((resolve) => server.on('exit', (c) => resolve(c)))
    expect(code).toBe(0)
  })
})
