import {usageError} from '../errors.js'

/**
 * Every route `morpho serve` answers, as templates, and the matcher that finds a request's route.
 * The server dispatches on the template, the metrics label requests with it (never with the raw
 * path), and the families below decide what a token and the Host check guard.
 */

export const ROUTE_TEMPLATES = [
  '/',
  '/health',
  '/metrics',
  '/models',
  '/predict',
  '/reload-model',
  '/v2',
  '/v2/health/live',
  '/v2/health/ready',
  '/v2/models/{name}',
  '/v2/models/{name}/ready',
  '/v2/models/{name}/infer',
  '/v2/models/{name}/versions/{version}',
  '/v2/models/{name}/versions/{version}/infer',
  '/v2/models/{name}/versions/{version}/ready',
  '/api/{resource}',
  '/api/runs/{id}',
  '/api/runs/{id}/boundary',
  '/api/served/boundary',
  '/assets/{file}',
] as const

export type RouteTemplate = (typeof ROUTE_TEMPLATES)[number]

/**
 * The web page's own routes (`morpho serve` mounts the page at /, `morpho ui` serves only it):
 * its files and the JSON it polls every few seconds while it is open.
 */
export const PAGE_ENDPOINTS: readonly RouteTemplate[] = [
  '/',
  '/assets/{file}',
  '/api/{resource}',
  '/api/runs/{id}',
  '/api/runs/{id}/boundary',
  '/api/served/boundary',
]

/**
 * What each route is for, which decides what guards it: health (probes, never guarded),
 * predictions (the service: /predict, /models and the OIP endpoints), metrics (the scrape),
 * management (/reload-model, and /debug/memory which is not a route) and the page with its API.
 */
export type RouteFamily = 'health' | 'predictions' | 'metrics' | 'management' | 'page'

export const ROUTE_FAMILIES: readonly RouteFamily[] = ['health', 'predictions', 'metrics', 'management', 'page']

/** What a token guards unless told otherwise: what changes the server, and what shows the store. */
export const DEFAULT_PROTECTED: readonly RouteFamily[] = ['management', 'page']

/** `--protect a,b`: the families named, checked. */
export function parseProtect(text: string): RouteFamily[] {
  const names = text
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '')
  const guardable = ROUTE_FAMILIES.filter((f) => f !== 'health')
  if (names.includes('all')) return [...guardable]
  for (const name of names) {
    if (!(guardable as string[]).includes(name)) {
      throw usageError(`Invalid --protect "${name}"`, {
        hint: `Name families from ${guardable.join(', ')}, comma-separated, or all (health is never guarded).`,
      })
    }
  }
  return names as RouteFamily[]
}

export const ROUTE_FAMILY: Readonly<Record<RouteTemplate, RouteFamily>> = {
  '/': 'page',
  '/health': 'health',
  '/metrics': 'metrics',
  '/models': 'predictions',
  '/predict': 'predictions',
  '/reload-model': 'management',
  '/v2': 'predictions',
  '/v2/health/live': 'health',
  '/v2/health/ready': 'health',
  '/v2/models/{name}': 'predictions',
  '/v2/models/{name}/ready': 'predictions',
  '/v2/models/{name}/infer': 'predictions',
  '/v2/models/{name}/versions/{version}': 'predictions',
  '/v2/models/{name}/versions/{version}/infer': 'predictions',
  '/v2/models/{name}/versions/{version}/ready': 'predictions',
  '/api/{resource}': 'page',
  '/api/runs/{id}': 'page',
  '/api/runs/{id}/boundary': 'page',
  '/api/served/boundary': 'page',
  '/assets/{file}': 'page',
}

/**
 * The family of a request: its route's, else by path (the page claims all of /assets/ and
 * /api/, matched or not; /debug/memory is management), else none (an unknown path, a 404).
 */
export function familyOf(route: RouteMatch | undefined, path: string): RouteFamily | undefined {
  if (route) return ROUTE_FAMILY[route.template]
  if (path.startsWith('/api/') || path.startsWith('/assets/')) return 'page'
  if (path === '/debug/memory') return 'management'
  return undefined
}

export interface RouteMatch {
  template: RouteTemplate
  /** The path segments that filled the template's {placeholders}, percent-decoded. */
  params: Record<string, string>
}

interface CompiledRoute {
  template: RouteTemplate
  segments: string[]
}

const COMPILED: CompiledRoute[] = ROUTE_TEMPLATES.map((template) => ({
  template,
  segments: template === '/' ? [] : template.slice(1).split('/'),
}))

// The fixed paths, found without the general matcher's split-and-compare.
const STATIC_ROUTES = new Map<string, RouteMatch>(
  ROUTE_TEMPLATES.filter((t) => !t.includes('{')).map((t) => [t, {template: t, params: {}}]),
)

/**
 * Matches a request target (as in `req.url`: path and optional query) against the route
 * templates. Matching is exact, segment by segment: `/health/` is not `/health`, and a
 * placeholder fills exactly one non-empty segment.
 */
export function matchRoute(target: string): RouteMatch | undefined {
  const fixed = STATIC_ROUTES.get(target)
  if (fixed) return fixed
  const path = pathOf(target)
  if (path === undefined) return undefined
  const parts = path === '/' ? [] : path.slice(1).split('/')
  for (const route of COMPILED) {
    if (route.segments.length !== parts.length) continue
    const params: Record<string, string> = {}
    let ok = true
    for (let i = 0; i < parts.length && ok; i++) {
      const want = route.segments[i]!
      const got = parts[i]!
      if (want.startsWith('{')) {
        if (got === '') ok = false
        else params[want.slice(1, -1)] = decodeSegment(got)
      } else if (want !== got) {
        ok = false
      }
    }
    if (ok) return {template: route.template, params}
  }
  return undefined
}

/** The path of a request target, without query or fragment; undefined when it has none (`*`). */
export function pathOf(target: string): string | undefined {
  let rest = target
  // An absolute-form target (a request through a proxy) carries scheme and host first.
  const absolute = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(rest)
  if (absolute) rest = rest.slice(absolute[0].length) || '/'
  const end = rest.search(/[?#]/)
  if (end !== -1) rest = rest.slice(0, end)
  return rest.startsWith('/') ? rest : undefined
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    // Malformed escapes stay as sent; the handler rejects the name, the label is unaffected.
    return segment
  }
}
