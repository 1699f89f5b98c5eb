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
