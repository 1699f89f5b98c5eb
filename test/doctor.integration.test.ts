import {availableParallelism} from 'node:os'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parseJson, runCli, tempDir} from './helpers/cli.js'
import {expectShape} from './helpers/shapes.js'

describe('morpho doctor (built CLI)', () => {
  let home: {path: string; cleanup: () => Promise<void>}
  beforeAll(async () => {
    home = await tempDir()
  })
  afterAll(() => home.cleanup())

  it('reports node, version, the backend that loaded and why tfjs-node did not, and the store', async () => {
    const res = await runCli(['doctor', '--json', '--home', home.path], {env: {MORPHO_BACKEND: 'auto'}})
    expect(res.code).toBe(0)
    const report = parseJson<{
      node: string
      morpho: string
      backend: {name: string; attempts: {backend: string; ok: boolean; reason?: string}[]}
      store: {path: string; writable: boolean}
    }>(res.stdout)
    expectShape('doctor', report)
    expect(report.node).toBe(process.versions.node)
    expect(report.morpho).toMatch(/^\d+\.\d+\.\d+/)
    expect(['tensorflow', 'wasm', 'cpu']).toContain(report.backend.name)
    const chosen = report.backend.attempts.at(-1)
    expect(chosen).toMatchObject({backend: report.backend.name, ok: true})
    for (const failed of report.backend.attempts.slice(0, -1)) {
      expect(failed.ok).toBe(false)
      expect(failed.reason).toBeTruthy()
    }
    expect(report.store).toMatchObject({path: home.path, writable: true})
  })

  it('honours MORPHO_BACKEND, says how many threads training uses, and rejects an unknown backend with a usage exit code', async () => {
    const cpu = await runCli(['doctor', '--json', '--home', home.path], {
      env: {MORPHO_BACKEND: 'cpu', MORPHO_TRAIN_THREADS: undefined},
    })
    expect(cpu.code).toBe(0)
    // The cpu step splits its large products with a second thread where there is a second core.
    expect(parseJson<{backend: {name: string; threads: number}}>(cpu.stdout).backend).toMatchObject({
      name: 'cpu',
      threads: availableParallelism() > 1 ? 2 : 1,
    })
    const one = await runCli(['doctor', '--home', home.path], {env: {MORPHO_BACKEND: 'cpu', MORPHO_TRAIN_THREADS: '1'}})
    expect(one.stdout).toMatch(/^backend {3}cpu, tfjs \S+, training on 1 thread$/m)
    const wasm = await runCli(['doctor', '--json', '--home', home.path], {env: {MORPHO_BACKEND: 'wasm'}})
    expect(parseJson<{backend: {threads: number}}>(wasm.stdout).backend.threads).toBe(1)

    const bad = await runCli(['doctor', '--json', '--home', home.path], {env: {MORPHO_BACKEND: 'gpu'}})
    expect(bad.code).toBe(2)
    const envelope = parseJson<{error: {code: string; message: string; hint: string}}>(bad.stdout)
    expect(envelope.error).toMatchObject({code: 'USAGE', message: 'Unknown backend "gpu"'})
    expect(envelope.error.hint).toContain('auto, tensorflow, wasm, cpu')
  })
})
