import {createHash, timingSafeEqual} from 'node:crypto'
import type {IncomingMessage} from 'node:http'
import {isIP} from 'node:net'
import {HttpError} from './http-error.js'
import {DEFAULT_PROTECTED, type RouteFamily} from './routes.js'

/**
 * Who may use which endpoints, by family (src/net/routes.ts):
 *
 * - the token (`--token`), when there is one, guards the families in `protect` (by default
 *   management and the page with its API: they change the server or show the whole store).
 *   Predictions and metrics are the service and its scrape, open unless listed; health is never
 *   guarded, so probes need no secret. Scripts send `Authorization: Bearer <token>`; a browser
 *   asked for the page signs in with any user name and the token as password (Basic), and
 *   sends it with every request the page makes after that.
 * - a Host header that names this server: on the page and management endpoints, a name that
 *   is not an IP address, `localhost` or an `--allowed-host` is refused. A web page elsewhere
 *   can point its own DNS name at 127.0.0.1 (DNS rebinding) and so become "same origin" with
 *   this server; its requests still carry its own name as Host.
 * - no cross-site browser request on those endpoints: a request whose Origin is not the Host
 *   it was sent to comes from another site's page (a form or a script) and is refused.
 */

/** Families that a browser may open, and so where DNS rebinding and cross-site requests matter. */
const BROWSER_FAMILIES: ReadonlySet<RouteFamily> = new Set(['management', 'page'])

export interface GuardOptions {
  token?: string
  /** Families the token guards (default management and page). */
  protect?: readonly RouteFamily[]
  /** Host names accepted besides IP addresses and localhost. */
  allowedHosts?: readonly string[]
  /** The address the server is bound to: a name given there is accepted too. */
  boundHost?: string
}

export type Guard = (req: IncomingMessage, family: RouteFamily | undefined) => void

/** A check to run before answering a request of `family`; it throws the 401 or 403 to answer. */
export function createGuard(options: GuardOptions): Guard {
  const tokenDigest = options.token === undefined ? undefined : digest(options.token)
  const guarded: ReadonlySet<RouteFamily> = new Set(tokenDigest ? (options.protect ?? DEFAULT_PROTECTED) : [])
  const allowed = new Set((options.allowedHosts ?? []).map((h) => h.trim().toLowerCase()))
  if (options.boundHost !== undefined) allowed.add(options.boundHost.toLowerCase())
  return (req, family) => {
    if (family === undefined) return
    if (BROWSER_FAMILIES.has(family)) {
      checkHost(req, allowed)
      checkOrigin(req)
    }
    if (guarded.has(family)) authorize(req, tokenDigest!, family)
  }
}

/** True for addresses that only this machine can reach. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase()
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h)
}

/** The host name of a Host header value (`name:port`, `[v6]:port`), lower-cased. */
export function hostName(value: string): string {
  const v = value.trim().toLowerCase()
  if (v.startsWith('[')) return v.slice(0, v.indexOf(']') + 1)
  const colon = v.lastIndexOf(':')
  return colon === -1 ? v : v.slice(0, colon)
}

function checkHost(req: IncomingMessage, allowed: ReadonlySet<string>): void {
  const header = req.headers.host
  // HTTP/1.0 clients may send none; a browser always does.
  if (header === undefined) return
  const name = hostName(header)
  const bare = name.replace(/^\[|\]$/g, '')
  if (isIP(bare) !== 0 || bare === 'localhost' || allowed.has(name)) return
  throw new HttpError(
    'HOST_NOT_ALLOWED',
    `this server does not answer the page or management requests for host "${name}"`,
    {
      hint: `Start the server with --allowed-host ${name} if that is its name; IP addresses and localhost are always accepted.`,
    },
  )
}

function checkOrigin(req: IncomingMessage): void {
  const origin = req.headers.origin
  if (origin === undefined) return
  let host: string
  try {
    host = new URL(origin).host
  } catch {
    host = ''
  }
  if (req.headers.host !== undefined && host === req.headers.host.toLowerCase()) return
  throw new HttpError('CROSS_ORIGIN', `a request from the page at ${origin} is not accepted here`, {
    hint: 'The page and management endpoints answer their own page and scripts, not other sites.',
  })
}

const WHAT: Record<RouteFamily, string> = {
  health: 'health',
  predictions: 'predicting',
  metrics: 'scraping /metrics',
  management: 'reloading',
  page: 'the web page',
}

function authorize(req: IncomingMessage, tokenDigest: Buffer, family: RouteFamily): void {
  const header = req.headers.authorization
  const token = header === undefined ? undefined : credential(header)
  // Comparing digests keeps the time independent of where the strings first differ, and of their lengths.
  if (token !== undefined && timingSafeEqual(digest(token), tokenDigest)) return
  // The page's challenge is Basic, so that a browser asks for the token; scripts use Bearer.
  const challenge = family === 'page' ? 'Basic realm="morpho", charset="UTF-8"' : 'Bearer realm="morpho"'
  throw new HttpError(
    'UNAUTHORIZED',
    header === undefined
      ? `${WHAT[family]} needs Authorization: Bearer <token>`
      : 'the bearer token is not the one this server was given',
    {
      headers: {'WWW-Authenticate': challenge},
      hint:
        family === 'page'
          ? "In a browser, sign in with any user name and the server's token as the password."
          : 'Send the token the server was started with (--token or MORPHO_TOKEN).',
    },
  )
}

/** The token in `Bearer <token>`, or the password of `Basic base64(user:password)`. */
function credential(header: string): string | undefined {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header)
  if (bearer) return bearer[1]
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header)
  if (!basic) return undefined
  const text = Buffer.from(basic[1]!, 'base64').toString('utf8')
  const colon = text.indexOf(':')
  return colon === -1 ? undefined : text.slice(colon + 1)
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest()
}
