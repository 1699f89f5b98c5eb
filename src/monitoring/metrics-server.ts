import {createServer, type Server} from 'node:http'
import type {Registry} from 'prom-client'
import {listen} from '../net/listen.js'

/**
 * A scrape endpoint for processes that have no HTTP server of their own (a training run
 * with --metrics-port). It answers GET/HEAD /metrics and nothing else.
 */

export interface MetricsServer {
  port: number
  url: string
  close(): Promise<void>
}

export interface MetricsServerOptions {
  /** 0 picks a free port. */
  port: number
  /** Loopback by default: a metrics port is not opened to the network unless asked for. */
  host?: string
}

export function createMetricsServer(registry: Registry): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    if (path !== '/metrics') {
      res.writeHead(404, {'content-type': 'text/plain; charset=utf-8'}).end('Not found: only /metrics is served here\n')
      return
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, {allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8'}).end('Method not allowed\n')
      return
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, {'content-type': registry.contentType})
        res.end(req.method === 'HEAD' ? undefined : text)
      },
      (err: unknown) => {
        res.writeHead(500, {'content-type': 'text/plain; charset=utf-8'})
        res.end(`Collecting metrics failed: ${(err as Error).message}\n`)
      },
    )
  })
}

export async function startMetricsServer(registry: Registry, options: MetricsServerOptions): Promise<MetricsServer> {
  const server = createMetricsServer(registry)
  const {port, origin} = await listen(server, {
    port: options.port,
    host: options.host ?? '127.0.0.1',
    what: 'serve metrics',
    hint: 'Choose another metrics port (0 picks a free one) or another host.',
  })
  return {
    port,
    url: `${origin}/metrics`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()))
        // A scraper keeps its connection open between scrapes; the run's end must not wait for it.
        server.closeAllConnections()
      }),
  }
}
