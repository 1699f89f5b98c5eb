import {request as httpRequest} from 'node:http'
import {connect, type Socket} from 'node:net'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {Serving} from '../../src/serve/serve.js'
import {startUiServer} from '../../src/ui/server.js'
import {call, startTestServer, type TrainedStore, trainedStore} from './helpers.js'

/** What the server and the page may be asked, and by whom: the token, the Host header, the body type. */

const ROW = {data: [[0.5, -1.2, 0.3]]}

interface Raw {
  status: number
  headers: Record<string, string | string[] | undefined>
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers are checked field by field below
  json: any
}

/** One request with headers fetch will not set (Host, Origin), over a real socket. */
function raw(
  url: string,
  path: string,
  options: {method?: string; headers?: Record<string, string>; body?: string} = {},
): Promise<Raw> {
  const {hostname, port} = new URL(url)
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {host: hostname, port, path, method: options.method ?? 'GET', headers: options.headers},
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          let json: unknown = text
          try {
            json = JSON.parse(text)
          } catch {}
          resolve({status: res.statusCode ?? 0, headers: res.headers, json})
        })
      },
    )
    req.on('error', reject)
    req.end(options.body)
  })
}

const bearer = (token: string) => ({authorization: `Bearer ${token}`})
const basic = (user: string, token: string) => ({
  authorization: `Basic ${Buffer.from(`${user}:${token}`).toString('base64')}`,
})

describe('what the token guards, by endpoint family', () => {
  let store: TrainedStore
  let server: Serving

  beforeAll(async () => {
    store = await trainedStore(1)
    server = await startTestServer(store.store, {token: 's3cret', ui: true})
  })
  afterAll(async () => {
    await server?.stop()
    await store?.cleanup()
  })

  it('guards the page and its API: 401 without the token, with a Basic challenge a browser answers', async () => {
    for (const path of ['/', '/api/info', '/api/runs', '/api/history', '/api/models', '/assets/app.js', '/api/nope']) {
      const res = await raw(server.url, path)
      expect(res.status, path).toBe(401)
      expect(res.headers['www-authenticate'], path).toBe('Basic realm="morpho", charset="UTF-8"')
      expect(res.json, path).toMatchObject({
        code: 'UNAUTHORIZED',
        error: 'the web page needs Authorization: Bearer <token>',
      })
    }
    // A browser signs in with any user name and the token as password; a script sends Bearer.
    expect((await raw(server.url, '/api/info', {headers: basic('anyone', 's3cret')})).status).toBe(200)
    expect((await raw(server.url, '/api/info', {headers: bearer('s3cret')})).json).toMatchObject({mode: 'serve'})
    expect((await raw(server.url, '/api/info', {headers: basic('anyone', 'wrong')})).status).toBe(401)
    expect((await raw(server.url, '/', {headers: bearer('s3cret')})).status).toBe(200)
  })

  it('guards management: /reload-model and /debug/memory need the token', async () => {
    const none = await raw(server.url, '/reload-model', {method: 'POST'})
    expect(none.status).toBe(401)
    expect(none.headers['www-authenticate']).toBe('Bearer realm="morpho"')
    expect((await raw(server.url, '/debug/memory')).status).toBe(401)
    expect((await raw(server.url, '/reload-model', {method: 'POST', headers: bearer('s3cret')})).status).toBe(200)
  })

  it('leaves predictions, metrics and health open by default: the service, its scrape and its probes', async () => {
    expect((await call(`${server.url}/predict`, {body: ROW})).status).toBe(200)
    expect((await call(`${server.url}/v2/models/spirals`)).status).toBe(200)
    expect((await call(`${server.url}/models`)).status).toBe(200)
    expect((await fetch(`${server.url}/metrics`)).status).toBe(200)
    expect((await call(`${server.url}/health`)).status).toBe(200)
    expect((await call(`${server.url}/v2/health/ready`)).status).toBe(200)
  })

  it('guards metrics and predictions too when --protect names them; health never', async () => {
    const all = await startTestServer(store.store, {
      token: 's3cret',
      protect: ['management', 'page', 'metrics', 'predictions'],
    })
    try {
      expect((await call(`${all.url}/predict`, {body: ROW})).status).toBe(401)
      expect((await call(`${all.url}/v2/models/spirals/infer`, {body: {}})).status).toBe(401)
      expect((await call(`${all.url}/predict`, {body: ROW, headers: bearer('s3cret')})).status).toBe(200)
      const scrape = await raw(all.url, '/metrics')
      expect(scrape.json).toMatchObject({
        code: 'UNAUTHORIZED',
        error: 'scraping /metrics needs Authorization: Bearer <token>',
      })
      expect((await raw(all.url, '/metrics', {headers: bearer('s3cret')})).status).toBe(200)
      expect((await call(`${all.url}/health`)).status).toBe(200)
      expect((await call(`${all.url}/v2/health/live`)).status).toBe(200)
    } finally {
      await all.stop()
    }
  })
})

describe('the page off the loopback, and the warning without a token', () => {
  let store: TrainedStore

  beforeAll(async () => {
    store = await trainedStore(1)
  })
  afterAll(() => store?.cleanup())

  it('on loopback the page is on by default', async () => {
    const server = await startTestServer(store.store, {ui: undefined})
    try {
      expect((await raw(server.url, '/api/info')).status).toBe(200)
      expect(server.log.lines.filter((l) => l.startsWith('warn listening'))).toEqual([])
    } finally {
      await server.stop()
    }
  })

  it('bound beyond loopback, the page is off unless asked for, and no token is warned about', async () => {
    const server = await startTestServer(store.store, {ui: undefined, host: '0.0.0.0'})
    try {
      const local = `http://127.0.0.1:${server.port}`
      expect((await raw(local, '/api/info')).status).toBe(404)
      expect((await raw(local, '/')).status).toBe(404)
      expect((await call(`${local}/predict`, {body: ROW})).status).toBe(200)
      expect(server.log.lines).toContain(
        'info the web page is off on 0.0.0.0, which is not loopback (--ui turns it on)',
      )
      expect(server.log.lines).toContainEqual(
        expect.stringMatching(/^warn listening on 0\.0\.0\.0 without a token: management endpoints are open to anyone/),
      )
    } finally {
      await server.stop()
    }
    const asked = await startTestServer(store.store, {ui: true, host: '0.0.0.0', token: 't'})
    try {
      const local = `http://127.0.0.1:${asked.port}`
      expect((await raw(local, '/api/info', {headers: bearer('t')})).status).toBe(200)
      expect(asked.log.lines.filter((l) => l.startsWith('warn listening'))).toEqual([])
    } finally {
      await asked.stop()
    }
  })
})

describe('DNS rebinding and cross-site requests', () => {
  let store: TrainedStore
  let server: Serving

  beforeAll(async () => {
    store = await trainedStore(1)
    server = await startTestServer(store.store, {ui: true, allowedHosts: ['morpho.internal']})
  })
  afterAll(async () => {
    await server?.stop()
    await store?.cleanup()
  })

  it('refuses the page and management for a Host that is not this server, and still predicts', async () => {
    const evil = {host: 'attacker.example.com:8080'}
    for (const [method, path] of [
      ['GET', '/api/runs'],
      ['GET', '/'],
      ['POST', '/reload-model'],
    ] as const) {
      const res = await raw(server.url, path, {method, headers: evil})
      expect(res.status, path).toBe(403)
      expect(res.json, path).toMatchObject({
        code: 'HOST_NOT_ALLOWED',
        error: 'this server does not answer the page or management requests for host "attacker.example.com"',
        hint: expect.stringContaining('--allowed-host attacker.example.com'),
      })
    }
    expect(
      (
        await raw(server.url, '/predict', {
          method: 'POST',
          headers: {...evil, 'content-type': 'application/json'},
          body: JSON.stringify(ROW),
        })
      ).status,
    ).toBe(200)
  })

  it('takes IP addresses, localhost and --allowed-host names', async () => {
    const {port} = new URL(server.url)
    for (const host of [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      `[::1]:${port}`,
      'morpho.internal',
      'MORPHO.internal:443',
    ]) {
      expect((await raw(server.url, '/api/info', {headers: {host}})).status, host).toBe(200)
    }
  })

  it('refuses a request another site sends (its Origin is not this server)', async () => {
    const res = await raw(server.url, '/reload-model', {
      method: 'POST',
      headers: {origin: 'http://attacker.example.com'},
    })
    expect(res.status).toBe(403)
    expect(res.json).toMatchObject({code: 'CROSS_ORIGIN'})
    expect((await raw(server.url, '/api/runs', {headers: {origin: 'http://attacker.example.com'}})).status).toBe(403)
    const same = await raw(server.url, '/reload-model', {method: 'POST', headers: {origin: server.url}})
    expect(same.status).toBe(200)
  })

  it('/reload-model takes a JSON body or none: not the types a cross-site form can send', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const res = await raw(server.url, '/reload-model', {method: 'POST', headers: {'content-type': type}, body: 'a=1'})
      expect(res.status, type).toBe(415)
      expect(res.json, type).toMatchObject({code: 'UNSUPPORTED_MEDIA_TYPE'})
    }
    const untyped = await raw(server.url, '/reload-model', {method: 'POST', body: 'a=1'})
    expect(untyped.status).toBe(415)
    expect(untyped.json.error).toBe(
      'a body for /reload-model must be JSON: send Content-Type: application/json, or no body',
    )
    const bad = await raw(server.url, '/reload-model', {
      method: 'POST',
      headers: {'content-type': 'application/json'},
      body: '{',
    })
    expect(bad.json).toMatchObject({code: 'MALFORMED_JSON'})
    const json = await raw(server.url, '/reload-model', {
      method: 'POST',
      headers: {'content-type': 'application/json'},
      body: '{}',
    })
    expect(json.json).toMatchObject({status: 'success'})
    expect((await raw(server.url, '/reload-model', {method: 'POST'})).status).toBe(200)
  })

  it('morpho ui checks the same, and takes a token for every request', async () => {
    const ui = await startUiServer({store: store.store}, {port: 0, token: 'u', allowedHosts: []})
    try {
      expect((await raw(ui.url, '/api/runs')).status).toBe(401)
      expect((await raw(ui.url, '/health')).status).toBe(401)
      expect((await raw(ui.url, '/api/runs', {headers: basic('me', 'u')})).status).toBe(200)
      const rebound = await raw(ui.url, '/api/runs', {headers: {...basic('me', 'u'), host: 'attacker.example.com'}})
      expect(rebound.status).toBe(403)
    } finally {
      await ui.close()
    }
  })
})

describe('bounded connections: slow bodies and too many sockets', () => {
  let store: TrainedStore

  beforeAll(async () => {
    store = await trainedStore(1)
  })
  afterAll(() => store?.cleanup())

  const open = (port: number) =>
    new Promise<Socket>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(socket))
      socket.on('error', reject)
    })
  const closed = (socket: Socket) =>
    new Promise<string>((resolve) => {
      let text = ''
      socket.on('data', (d) => {
        text += d.toString()
      })
      socket.on('close', () => resolve(text))
    })

  it('a body that never finishes is answered 408 and closed at the request timeout, not held for 300 s', async () => {
    const server = await startTestServer(store.store, {requestTimeoutMs: 400})
    try {
      const socket = await open(server.port)
      const gone = closed(socket)
      const started = Date.now()
      socket.write(
        'POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{"data": [[0.5,',
      )
      const text = await gone
      expect(text).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/)
      expect(Date.now() - started).toBeLessThan(5000)
      const deadline = Date.now() + 5000
      while (server.state.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
      expect(server.state.inFlight).toBe(0)
      // Counted as what it was: a 408 on /predict, not a client error of another kind.
      const metrics = await (await fetch(`${server.url}/metrics`)).text()
      expect(metrics).toContain('inference_requests_total{method="POST",endpoint="/predict",status="408"} 1')
      // Headers that never finish get the same.
      const slow = await open(server.port)
      const slowGone = closed(slow)
      slow.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n')
      expect(await slowGone).toMatch(/^HTTP\/1\.1 408 /)
      expect((await call(`${server.url}/health`)).status).toBe(200)
    } finally {
      await server.stop()
    }
  })

  it('closes connections beyond --max-connections as they arrive, and takes new ones once there is room', async () => {
    const server = await startTestServer(store.store, {maxConnections: 2})
    try {
      const a = await open(server.port)
      const b = await open(server.port)
      const extra = await open(server.port)
      const extraText = await closed(extra)
      expect(extraText).toBe('')
      a.destroy()
      b.destroy()
      const deadline = Date.now() + 5000
      let status = 0
      while (status !== 200 && Date.now() < deadline) {
        status = (await call(`${server.url}/health`).catch(() => ({status: 0}))).status
        if (status !== 200) await new Promise((r) => setTimeout(r, 20))
      }
      expect(status).toBe(200)
    } finally {
      await server.stop()
    }
  })
})
