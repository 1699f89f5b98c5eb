import type {ChildProcess} from 'node:child_process'
import {cp, readFile, rename, writeFile} from 'node:fs/promises'
import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {PredictView} from '../../src/serve/predict-view.js'
import {parseJson, runCli, spawnCli, tempDir} from '../helpers/cli.js'
import {expectShape} from '../helpers/shapes.js'
import {call, halfSentPredict, type TrainedStore, trainedStore} from './helpers.js'

interface Server {
  child: ChildProcess
  url: string
  stderr: () => string
  stdout: () => string
  exit: Promise<number | null>
}

/**
 * Starts the built `morpho serve` on a free port and reads where it listens from the first line
 * of its stdout: the URL, or under --json a JSON object with it.
 */
async function serve(args: string[]): Promise<Server> {
  const child = spawnCli(['serve', '--port', '0', ...args])
  let stderr = ''
  let stdout = ''
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString()
  })
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no first line on stdout in 30 s:\n${stderr}`)), 30_000)
    const look = () => {
      const end = stdout.indexOf('\n')
      if (end === -1) return
      clearTimeout(timer)
      const line = stdout.slice(0, end)
      resolve(line.startsWith('{') ? (JSON.parse(line) as {url: string}).url : line)
    }
    child.stdout!.on('data', look)
    void exit.then((code) => reject(new Error(`serve exited ${code} before listening:\n${stderr}`)))
  })
  return {child, url, stderr: () => stderr, stdout: () => stdout, exit}
}

/** A port nothing listens on (taken and given back). */
async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await fn().catch(() => undefined)
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

describe('morpho serve, predict and health (built CLI)', () => {
  let store: TrainedStore
  const running: Server[] = []

  beforeAll(async () => {
    store = await trainedStore(2)
  })
  afterAll(async () => {
    for (const s of running) s.child.kill('SIGKILL')
    await store?.cleanup()
  })

  it('serves; predict --url and health answer with their exit codes', async () => {
    const server = await serve(['--home', store.home])
    running.push(server)
    const {url} = server

    const healthy = await runCli(['health', '--url', url])
    expect(healthy.code, healthy.stderr).toBe(0)
    expect(healthy.stdout.trim()).toBe(`healthy: spirals v1 (Production) at ${url}/health`)
    const healthJson = parseJson((await runCli(['health', '--url', url, '--json'])).stdout)
    expectShape('health', healthJson)
    expect(healthJson).toEqual({
      url: `${url}/health`,
      status: 'healthy',
      model: 'spirals',
      version: 1,
      stage: 'Production',
    })

    const rows = '[[0.5, -1.2, 0.3], [4, 4, -1]]'
    const remote = await runCli(['predict', '--url', url, '--data', rows, '--json'])
    expect(remote.code, remote.stderr).toBe(0)
    const local = await runCli(['predict', '--home', store.home, '--data', rows, '--json'])
    expect(local.code, local.stderr).toBe(0)
    const r = parseJson<PredictView>(remote.stdout)
    const l = parseJson<PredictView>(local.stdout)
    expectShape('predict', r)
    expectShape('predict', l)
    expect([r.source, l.source]).toEqual(['server', 'registry'])
    // The same keys and class labels whoever answered.
    expect({...r, probabilities: [], inferenceTimeMs: 0}).toEqual({
      ...l,
      probabilities: [],
      inferenceTimeMs: 0,
      source: 'server',
      url,
    })
    expect(l).toMatchObject({model: 'spirals', version: 1, stage: 'Production', classes: [0, 1], url: null})
    expect(r.predictions).toEqual(l.predictions)
    expect(r.probabilities[0]![0]).toBeCloseTo(l.probabilities[0]![0]!, 5)

    const fromStdin = await runCli(['predict', '--url', url], {input: '0.5,-1.2,0.3\n'})
    expect(fromStdin.code).toBe(0)
    // The columns are named by the labels the server's answer lists.
    expect(fromStdin.stdout).toMatch(/^ROW\s+PREDICTION\s+P\(0\)\s+P\(1\)\n0\s+[01]\s+\d\.\d{4}\s+\d\.\d{4}\n$/)
    expect(fromStdin.stderr).toMatch(
      new RegExp(`^spirals v1 from ${url.replaceAll('.', '\\.')}; forward pass [\\d.]+ ms\\n$`),
    )
    const localTable = await runCli(['predict', '--home', store.home, '--data', rows])
    expect(localTable.stderr).toMatch(/^spirals v1 from the registry, no server; forward pass [\d.]+ ms\n$/)

    const badRows = await runCli(['predict', '--url', url, '--data', '[[1, 2]]', '--json'])
    expect(badRows.code).toBe(6)
    expect(parseJson(badRows.stdout)).toMatchObject({
      error: {
        code: 'INVALID_DATA',
        message: `${url}/predict answered 400: data[0] has 2 features; model spirals v1 takes 3`,
      },
    })
    const noVersion = await runCli(['predict', '--url', url, '--version', '9', '--data', rows, '--json'])
    expect(noVersion.code).toBe(4)
    expect(parseJson(noVersion.stdout)).toMatchObject({
      error: {code: 'NOT_FOUND', message: `${url}/predict answered 404: spirals has no version 9 (versions 1-2)`},
    })

    server.child.kill('SIGTERM')
    expect(await server.exit).toBe(0)
    const down = await runCli(['health', '--url', url])
    expect(down).toMatchObject({code: 1, stdout: ''})
    expect(down.stderr).toMatch(/Error: unhealthy: cannot reach http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/)
    const downJson = await runCli(['health', '--url', url, '--json'])
    expect(downJson.code).toBe(1)
    expect(parseJson(downJson.stdout)).toMatchObject({
      error: {code: 'UNHEALTHY', exitCode: 1, details: {url: `${url}/health`, status: null, body: null}},
    })
  })

  it('an empty store serves without a model, and health says unhealthy (exit 1)', async () => {
    const empty = await tempDir('morpho-serve-empty-')
    try {
      const server = await serve(['--home', empty.path])
      running.push(server)
      const check = await runCli(['health', '--url', server.url])
      expect(check.code).toBe(1)
      expect(check.stderr).toMatch(`Error: unhealthy: no model loaded (${server.url}/health)`)
      server.child.kill('SIGTERM')
      expect(await server.exit).toBe(0)
    } finally {
      await empty.cleanup()
    }
  })

  it('refuses to start on a version that does not exist (exit 4)', async () => {
    const res = await runCli(['serve', '--home', store.home, '--port', '0', '--version', '9', '--json'])
    expect(res.code).toBe(4)
    expect(parseJson(res.stdout)).toMatchObject({
      error: {code: 'NOT_FOUND', message: 'spirals has no version 9 (versions 1-2)'},
    })
  })

  it('SIGTERM while requests are in flight: each one completes, then the process exits 0', async () => {
    const server = await serve(['--home', store.home, '--debug', '--json'])
    running.push(server)
    const port = Number(new URL(server.url).port)
    // Five requests whose bodies are half sent: in flight from the server's point of view.
    const pending = Array.from({length: 5}, () => {
      const req = halfSentPredict(port, '{"data": [[0.5, -1.2, ')
      const answer = new Promise<{status: number; body: string; connection?: string}>((resolve, reject) => {
        req.on('response', (res) => {
          let body = ''
          res.on('data', (d: Buffer) => {
            body += d.toString()
          })
          res.on('end', () => resolve({status: res.statusCode ?? 0, body, connection: res.headers.connection}))
        })
        req.on('error', reject)
      })
      return {req, answer}
    })
    await until('five requests in flight', async () => {
      const res = await call<{in_flight: number}>(`${server.url}/debug/memory`)
      return res.body.in_flight >= 6 ? true : undefined
    })

    server.child.kill('SIGTERM')
    await until('the server to stop accepting', async () =>
      server.stderr().includes('stopping (SIGTERM): no new connections; 5 request(s) in flight') ? true : undefined,
    )
    for (const p of pending) p.req.end('0.3]]}')
    const answers = await Promise.all(pending.map((p) => p.answer))
    for (const a of answers) {
      expect(a.status).toBe(200)
      expect(JSON.parse(a.body)).toMatchObject({model_version: '1', predictions: [expect.any(Number)]})
      expect(a.connection).toBe('close')
    }
    expect(await server.exit).toBe(0)
    expect(server.stderr()).toContain('stopped: ')
    // stdout: the line saying where it listens, then the summary.
    const [listening, ...summary] = server.stdout().split('\n')
    expect(JSON.parse(listening!)).toMatchObject({url: server.url})
    expectShape('serve', parseJson(summary.join('\n')))
    expect(parseJson(summary.join('\n'))).toMatchObject({reason: 'SIGTERM', drained: true, unfinished: 0})
  })

  it('requests cut off by --shutdown-timeout make the stop a failure: exit 1, not 0', async () => {
    const server = await serve(['--home', store.home, '--shutdown-timeout', '1', '--debug', '--json'])
    running.push(server)
    const port = Number(new URL(server.url).port)
    // A body that is never finished keeps its request in flight past the shutdown timeout.
    halfSentPredict(port, '{"data": [[0.5, ')
    await until('the request to be in flight', async () => {
      const res = await call<{in_flight: number}>(`${server.url}/debug/memory`)
      return res.body.in_flight >= 2 ? true : undefined
    })
    server.child.kill('SIGTERM')
    expect(await server.exit).toBe(1)
    expect(server.stderr()).toContain('shutdown timeout: closing connections with 1 request(s) unfinished')
    const [, ...rest] = server.stdout().split('\n')
    expect(parseJson(rest.join('\n'))).toMatchObject({
      error: {
        code: 'SHUTDOWN_TIMEOUT',
        exitCode: 1,
        message: 'Stopped with 1 request(s) cut off unfinished after --shutdown-timeout 1 s',
        details: {reason: 'SIGTERM', drained: false, unfinished: 1},
      },
    })
  })

  it('--port 0 prints the URL it listens on as the first line of stdout, or a JSON line with --json', async () => {
    const plain = await serve(['--home', store.home])
    running.push(plain)
    expect(plain.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(plain.stdout()).toBe(`${plain.url}\n`)
    expect((await call(`${plain.url}/health`)).status).toBe(200)
    const json = await serve(['--home', store.home, '--json'])
    running.push(json)
    const first = JSON.parse(json.stdout().split('\n')[0]!)
    expectShape('serve', first)
    expect(first).toEqual({
      url: json.url,
      host: '127.0.0.1',
      port: Number(new URL(json.url).port),
      model: 'spirals',
      version: 1,
      stage: 'Production',
    })
    plain.child.kill('SIGTERM')
    json.child.kill('SIGTERM')
    expect([await plain.exit, await json.exit]).toEqual([0, 0])
  })

  it('without a Production version /health is 503 until one is loaded; health --wait waits for it', async () => {
    const home = await tempDir('morpho-serve-wait-')
    try {
      const server = await serve(['--home', home.path, '--watch', '--watch-interval', '1'])
      running.push(server)
      const health = await call<{status: string; model_loaded: boolean}>(`${server.url}/health`)
      expect(health.status).toBe(503)
      expect(health.body).toMatchObject({status: 'degraded', model_loaded: false, reason: 'no model loaded'})
      // Liveness is another question: the process is up.
      expect((await call(`${server.url}/v2/health/live`)).status).toBe(200)

      const waiting = runCli(['health', '--url', server.url, '--wait', '30s', '--json'])
      await new Promise((r) => setTimeout(r, 500))
      // The store gets its model: the files first, then registry.json by rename, as morpho writes it.
      await cp(store.paths.runsDir, join(home.path, 'runs'), {recursive: true})
      await cp(join(store.home, 'models'), join(home.path, 'models'), {recursive: true})
      await writeFile(join(home.path, 'registry.json.tmp'), await readFile(store.paths.registryFile))
      await rename(join(home.path, 'registry.json.tmp'), join(home.path, 'registry.json'))
      const waited = await waiting
      expect(waited.code, waited.stdout).toBe(0)
      expect(parseJson(waited.stdout)).toMatchObject({status: 'healthy', model: 'spirals', version: 1})
      expect((await call(`${server.url}/health`)).status).toBe(200)
      server.child.kill('SIGTERM')
      expect(await server.exit).toBe(0)
    } finally {
      await home.cleanup()
    }
    // Nothing ever answering: unhealthy once the wait is over.
    const port = await freePort()
    const started = Date.now()
    const none = await runCli(['health', '--url', `http://127.0.0.1:${port}`, '--wait', '1s'])
    expect(none).toMatchObject({code: 1, stdout: ''})
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000)
    // oclif wraps long error lines: join them back before matching.
    expect(none.stderr.replace(/\s*\n\s*›\s*/g, ' ')).toMatch(
      /Error: unhealthy: cannot reach http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED \(.*, after waiting 1s\)/,
    )
    const bad = await runCli(['health', '--wait', 'soon', '--json'])
    expect(bad.code).toBe(2)
    expect(parseJson(bad.stdout)).toMatchObject({error: {code: 'USAGE', message: 'Invalid --wait "soon"'}})
  })

  it('predict --json writes nothing to stderr, from the registry or from a server', async () => {
    const server = await serve(['--home', store.home])
    running.push(server)
    const rows = '[[0.5, -1.2, 0.3]]'
    for (const args of [
      ['--home', store.home],
      ['--url', server.url],
    ]) {
      const res = await runCli(['predict', ...args, '--data', rows, '--json'])
      expect(res.code, res.stdout).toBe(0)
      expect(res.stderr, args.join(' ')).toBe('')
      expect(parseJson(res.stdout)).toMatchObject({predictions: [expect.any(Number)]})
    }
    server.child.kill('SIGTERM')
    expect(await server.exit).toBe(0)
  })

  it('--watch picks up `morpho promote Production --version 2` run by another process', async () => {
    const server = await serve(['--home', store.home, '--watch', '--watch-interval', '1'])
    running.push(server)
    expect((await call(`${server.url}/health`)).body).toMatchObject({model_version: '1'})
    const promoted = await runCli(['promote', 'Production', '--version', '2', '--home', store.home])
    expect(promoted.code, promoted.stderr).toBe(0)
    await until('the server to serve v2', async () => {
      const res = await call<{model_version: string}>(`${server.url}/health`)
      return res.body.model_version === '2' ? true : undefined
    })
    expect(server.stderr()).toMatch(/info reloaded spirals v1 → v2 \(Production, watch, \d+ ms/)
    server.child.kill('SIGTERM')
    expect(await server.exit).toBe(0)
  })
})
