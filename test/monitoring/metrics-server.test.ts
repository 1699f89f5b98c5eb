import {request} from 'node:http'
import {Counter, Registry} from 'prom-client'
import {afterEach, describe, expect, it} from 'vitest'
import {isMorphoError} from '../../src/errors.js'
import {type MetricsServer, startMetricsServer} from '../../src/monitoring/metrics-server.js'

interface Reply {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

function call(url: string, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, {method}, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        body += chunk
      })
      res.on('end', () => resolve({status: res.statusCode ?? 0, headers: res.headers, body}))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('startMetricsServer', () => {
  const open: MetricsServer[] = []
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()))
  })

  async function start(registry: Registry, options = {port: 0}) {
    const server = await startMetricsServer(registry, options)
    open.push(server)
    return server
  }

  it('serves the registry on GET /metrics of a free port on loopback', async () => {
    const registry = new Registry()
    const epochs = new Counter({
      name: 'morpho_train_epochs_total',
      help: 'x',
      labelNames: ['run'],
      registers: [registry],
    })
    epochs.inc({run: 'r1'}, 3)
    const server = await start(registry)

    expect(server.port).toBeGreaterThan(0)
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/metrics`)
    const reply = await call(server.url)
    expect(reply.status).toBe(200)
    expect(reply.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8')
    expect(reply.body).toContain('# TYPE morpho_train_epochs_total counter')
    expect(reply.body).toContain('morpho_train_epochs_total{run="r1"} 3')

    // Each scrape reads the registry anew.
    epochs.inc({run: 'r1'})
    expect((await call(`${server.url}?scrape=2`)).body).toContain('morpho_train_epochs_total{run="r1"} 4')
  })

  it('answers HEAD without a body, 405 to other methods and 404 to other paths', async () => {
    const server = await start(new Registry())
    const base = `http://127.0.0.1:${server.port}`
    const head = await call(`${base}/metrics`, 'HEAD')
    expect(head.status).toBe(200)
    expect(head.body).toBe('')
    const post = await call(`${base}/metrics`, 'POST')
    expect(post.status).toBe(405)
    expect(post.headers.allow).toBe('GET, HEAD')
    for (const path of ['/', '/health', '/metrics/', '/predict']) {
      expect((await call(`${base}${path}`)).status, path).toBe(404)
    }
  })

  it('frees the port on close', async () => {
    const server = await startMetricsServer(new Registry(), {port: 0})
    await server.close()
    await expect(call(server.url)).rejects.toMatchObject({code: 'ECONNREFUSED'})
  })

  it('says which port is taken, as a usage error', async () => {
    const first = await start(new Registry())
    const error = await startMetricsServer(new Registry(), {port: first.port}).catch((err: unknown) => err)
    expect(isMorphoError(error)).toBe(true)
    expect(error).toMatchObject({
      code: 'USAGE',
      message: `Cannot serve metrics on 127.0.0.1:${first.port}: the port is already in use`,
    })
  })
})
