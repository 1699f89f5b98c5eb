import {spawn} from 'node:child_process'
import {createServer, type Server} from 'node:http'
import {notFound, usageError} from '../errors.js'
import {createGuard, type GuardOptions} from '../net/guard.js'
import {listen} from '../net/listen.js'
import {createUiHandler, sendError, type UiDeps} from './handler.js'

/**
 * `morpho ui`: the page and its API over the store, without a model loaded. The same handler
 * is mounted in `morpho serve`; here it is the whole server.
 */

export const DEFAULT_UI_PORT = 8090
export const DEFAULT_UI_HOST = '127.0.0.1'

/** Where `morpho ui` listens: the flag, then MORPHO_UI_PORT / MORPHO_UI_HOST, then 8090 on loopback. */
export function resolveUiAddress(
  flags: {port?: number; host?: string},
  env: Record<string, string | undefined> = process.env,
): {port: number; host: string} {
  let port = flags.port
  if (port === undefined && env.MORPHO_UI_PORT) {
    port = Number(env.MORPHO_UI_PORT)
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw usageError(`MORPHO_UI_PORT is not a port: ${JSON.stringify(env.MORPHO_UI_PORT)}`, {
        hint: 'Give a whole number from 0 to 65535.',
      })
    }
  }
  return {port: port ?? DEFAULT_UI_PORT, host: flags.host ?? (env.MORPHO_UI_HOST || DEFAULT_UI_HOST)}
}

/** Opens `url` in the desktop's browser; a machine without one (a server, CI) just does nothing. */
export function openInBrowser(url: string): void {
  const [command, args] =
    process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '""', url]]
        : ['xdg-open', [url]]
  try {
    const child = spawn(command, args, {stdio: 'ignore', detached: true})
    child.on('error', () => {})
    child.unref()
  } catch {
    // No opener installed: the URL is printed anyway.
  }
}

export interface UiServer {
  port: number
  url: string
  close(): Promise<void>
}

export interface UiServerOptions {
  /** 0 picks a free port. */
  port: number
  /** Loopback by default: the store's runs and registry are not opened to the network unless asked for. */
  host?: string
  /** Needed by every request when given (Authorization: Bearer, or the password in a browser). */
  token?: string
  /** Host names the page answers for, besides IP addresses, localhost and the bound name. */
  allowedHosts?: readonly string[]
}

/** The page alone, behind the same guard as in `morpho serve` (src/net/guard.ts). */
export function createUiServer(deps: UiDeps, access: GuardOptions = {}): Server {
  const ui = createUiHandler(deps)
  const guard = createGuard(access)
  return createServer((req, res) => {
    try {
      // Everything this server answers is the page's.
      guard(req, 'page')
    } catch (err) {
      sendError(res, err, req.method === 'HEAD')
      return
    }
    if (ui(req, res)) return
    const path = (req.url ?? '/').split(/[?#]/, 1)[0]
    sendError(res, notFound(`Nothing at ${path}`, {hint: 'The page is at /.'}), req.method === 'HEAD')
  })
}

export async function startUiServer(deps: UiDeps, options: UiServerOptions): Promise<UiServer> {
  const host = options.host ?? DEFAULT_UI_HOST
  const server = createUiServer(deps, {
    token: options.token,
    protect: ['page'],
    allowedHosts: options.allowedHosts,
    boundHost: host,
  })
  const {port, origin} = await listen(server, {
    port: options.port,
    host,
    what: 'serve the page',
  })
  return {
    port,
    url: `${origin}/`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()))
        // Browsers keep idle connections open; stopping must not wait for them.
        server.closeIdleConnections()
        setTimeout(() => server.closeAllConnections(), 2000).unref()
      }),
  }
}
