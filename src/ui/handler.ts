import {createHash} from 'node:crypto'
import type {IncomingMessage, ServerResponse} from 'node:http'
import {createRequire} from 'node:module'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {gzipSync} from 'node:zlib'
import {readAsset} from '../assets.js'
import {MorphoError, notFound, usageError} from '../errors.js'
import {LOWER_IS_BETTER} from '../metrics.js'
import {featureNames} from '../model/model-file.js'
import {createJsPredictor} from '../model/predictor.js'
import {type LoadedModel, loadModelFiles} from '../model/serialize.js'
import {allowMethods, writeAnswer} from '../net/http.js'
import {errorBody, toHttpError} from '../net/http-error.js'
import {matchRoute} from '../net/routes.js'
import {loadVersion, pickModel, resolveVersion} from '../registry/index.js'
import type {Store} from '../store/store.js'
import {HISTORY_MAX_LIMIT, historyView, modelsView, runsView, runView, type ServedInfo, servedView} from './api.js'
import {type BoundaryView, modelBoundary, runBoundary} from './boundary.js'
import {trafficSnapshot} from './traffic.js'

/**
 * The web page and its JSON API as one request handler, for `morpho ui` and for mounting in
 * `morpho serve`:
 *
 *   const ui = createUiHandler({paths, served: () => current, metricsText: () => registry.metrics()})
 *   // in the request listener, before the server's own 404:
 *   if (ui(req, res)) return
 *
 * It claims GET and HEAD of `/`, `/assets/*` and `/api/*` (other methods there get a 405) and
 * returns false for everything else without touching the response. Ids from the URL are
 * checked before any path is built from them, and assets are looked up in a fixed list, so no
 * request reads a file outside the store and the page's own folder.
 */

export interface UiDeps {
  store: Store
  /** The model being served right now (called per request, so a reload shows at once). */
  served?: () => ServedInfo | undefined
  /** The server's Prometheus text, for the live traffic panel. */
  metricsText?: () => Promise<string>
  /** morpho's version, shown on the page. */
  version?: string
}

export type UiHandler = (req: IncomingMessage, res: ServerResponse) => boolean

/**
 * The page's files, by the name they are served under (/assets/<name>) and stored under (the
 * key "ui/<name>" in the single executable). A fixed list: a request names a key, never a path.
 */
export const PAGE_FILES = [
  'index.html',
  'styles.css',
  'favicon.svg',
  'app.js',
  'api.js',
  'dom.js',
  'charts.js',
  'boundary.js',
  'runs.js',
  'run.js',
  'compare.js',
  'registry.js',
  'model.js',
  'uplot.min.js',
  'uplot.min.css',
] as const

/** The charting library ships as a dependency; src/build/copy-assets.mjs copies these into dist/ui. */
const VENDOR: Record<string, string> = {
  'uplot.min.js': 'uplot/dist/uPlot.iife.min.js',
  'uplot.min.css': 'uplot/dist/uPlot.min.css',
}

const HERE = dirname(fileURLToPath(import.meta.url))
// Compiled (dist/src/ui/handler.js) the page is in dist/ui; run from the TypeScript sources
// (the tests) it is src/ui/assets, with the library straight from node_modules.
const FROM_SOURCES = import.meta.url.endsWith('.ts')

function pagePath(name: string): string {
  if (!FROM_SOURCES) return join(HERE, '..', '..', 'ui', name)
  const vendor = VENDOR[name]
  return vendor ? createRequire(import.meta.url).resolve(vendor) : join(HERE, 'assets', name)
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
}

const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
}
const PAGE_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

interface Asset {
  body: Buffer
  gzip?: Buffer
  etag: string
  type: string
}

export function createUiHandler(deps: UiDeps): UiHandler {
  const assets = new AssetStore()
  const boundaries = new BoundaryCache()
  const servedModels = new Map<string, Promise<LoadedModel>>()

  const loadServed = (info: ServedInfo): Promise<LoadedModel> => {
    const key = `${info.dir ?? `${info.name} v${info.version}`}\n${stamp(info.loadedAt)}`
    let loading = servedModels.get(key)
    if (!loading) {
      loading =
        typeof info.dir === 'string' && deps.store.kind === 'folder'
          ? loadModelFiles(info.dir)
          : loadRegistered(deps.store, info.name, info.version)
      // Only the model now served is kept: a reload replaces it.
      servedModels.clear()
      servedModels.set(key, loading)
      loading.catch(() => servedModels.delete(key))
    }
    return loading
  }

  const api = async (
    route: string,
    params: Record<string, string>,
    query: URLSearchParams,
  ): Promise<{status: number; body: unknown}> => {
    switch (route) {
      case '/api/{resource}':
        switch (params.resource) {
          case 'info':
            return ok({
              morpho: deps.version ?? null,
              store: deps.store.location,
              mode: deps.served ? 'serve' : 'ui',
              served: deps.served?.() !== undefined,
              // Which metrics are better low: the page sorts by the same rule as `best` and `sweep`.
              lowerIsBetter: LOWER_IS_BETTER,
            })
          case 'runs':
            return ok(await runsView(deps.store))
          case 'models':
            return ok(await modelsView(deps.store))
          case 'history':
            return ok(await historyView(deps.store, {model: query.get('model') ?? undefined, limit: limitOf(query)}))
          case 'served': {
            const info = deps.served?.()
            if (!info) return ok(servedView(undefined))
            const file = await loadServed(info).then(
              (m) => m.file,
              () => undefined,
            )
            return ok(
              servedView(
                info,
                file && {
                  problem: file.problem,
                  inputDim: file.architecture.inputDim,
                  classes: file.classes,
                  featureNames: featureNames(file),
                  mean: file.scaler.mean,
                  runId: file.runId,
                },
              ),
            )
          }
          case 'traffic':
            return ok({traffic: deps.metricsText ? trafficSnapshot(await deps.metricsText()) : null})
          default:
            throw unknownEndpoint(`/api/${params.resource}`)
        }
      case '/api/runs/{id}':
        return ok(await runView(deps.store, params.id!))
      case '/api/runs/{id}/boundary': {
        const id = params.id!
        return ok(await boundaries.get(`run:${id}`, () => runBoundary(deps.store, id)))
      }
      case '/api/served/boundary': {
        const info = deps.served?.()
        if (!info) throw notFound('No model is served by this process', {hint: 'Start one with `morpho serve`.'})
        const key = `served:${info.name}:${info.version}:${stamp(info.loadedAt)}`
        return ok(
          await boundaries.get(key, async () => {
            const loaded = await loadServed(info)
            if (!info.predictor) {
              return modelBoundary(
                {model: info.name, version: info.version},
                loaded,
                createJsPredictor(loaded),
                deps.store,
                info.runId ?? loaded.file.runId,
              )
            }
            info.acquire?.()
            try {
              return await modelBoundary(
                {model: info.name, version: info.version},
                loaded,
                info.predictor,
                deps.store,
                info.runId ?? loaded.file.runId,
              )
            } finally {
              info.release?.()
            }
          }),
        )
      }
      default:
        throw unknownEndpoint(route)
    }
  }

  return (req, res) => {
    const target = req.url ?? '/'
    const path = target.split(/[?#]/, 1)[0]!
    const isApi = path.startsWith('/api/')
    if (path !== '/' && !isApi && !path.startsWith('/assets/')) return false
    const method = req.method ?? 'GET'
    const head = method === 'HEAD'
    const answer = async () => {
      allowMethods(method, path, ['GET'])
      if (hasDotSegment(path)) {
        throw usageError(`Invalid path ${JSON.stringify(path)}: "." and ".." segments are not allowed`)
      }
      const match = matchRoute(target)
      if (path === '/') return sendAsset(req, res, await pageFile(assets, 'index.html'), head, true)
      if (!isApi) {
        const name = match?.template === '/assets/{file}' ? match.params.file! : ''
        if (!assets.get(name)) throw notFound(`No asset ${JSON.stringify(path)}`)
        return sendAsset(req, res, await pageFile(assets, name), head, false)
      }
      if (!match) throw unknownEndpoint(path)
      const query = new URLSearchParams(target.includes('?') ? target.slice(target.indexOf('?') + 1) : '')
      const {status, body} = await api(match.template, match.params, query)
      sendJson(res, status, body, head)
    }
    answer().catch((err) => {
      if (res.headersSent) {
        res.destroy()
        return
      }
      sendError(res, err, head)
    })
    return true
  }
}

/** An error in the server's one error body (src/net/http-error.ts), with the status its code maps to. */
export function sendError(res: ServerResponse, err: unknown, head: boolean): void {
  const e = toHttpError(err)
  sendJson(res, e.status, errorBody(e), head, e.headers)
}

function stamp(time: string | Date): string {
  return time instanceof Date ? time.toISOString() : time
}

function ok(body: unknown): {status: number; body: unknown} {
  return {status: 200, body}
}

function unknownEndpoint(path: string) {
  return notFound(`No API endpoint ${path}`, {
    hint: 'The endpoints are listed in the README, section "Web page".',
    details: {path},
  })
}

function limitOf(query: URLSearchParams): number | undefined {
  const raw = query.get('limit')
  if (raw === null) return undefined
  const n = Number(raw)
  if (!Number.isSafeInteger(n) || n < 1 || n > HISTORY_MAX_LIMIT) {
    throw usageError(`Invalid limit ${JSON.stringify(raw)}`, {
      hint: `Give a whole number from 1 to ${HISTORY_MAX_LIMIT}.`,
    })
  }
  return n
}

/** True when a segment is "." or "..", as sent or percent-encoded (clients that do not normalise send them as is). */
function hasDotSegment(path: string): boolean {
  return path.split('/').some((segment) => {
    const plain = segment.replace(/%2e/gi, '.')
    return plain === '.' || plain === '..'
  })
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  head: boolean,
  extra: Record<string, string> = {},
): void {
  // Runs and the registry change underneath: every answer is read fresh.
  writeAnswer(res, status, `${JSON.stringify(body)}\n`, {
    head,
    headers: {'Cache-Control': 'no-store', ...SECURITY_HEADERS, ...extra},
  })
}

/** A listed file that cannot be read means a broken installation, not a bad request. */
async function pageFile(assets: AssetStore, name: string): Promise<Asset> {
  try {
    return await assets.get(name)!
  } catch (err) {
    throw new MorphoError('INTERNAL', `The page file ${name} is missing from this installation`, {
      hint: 'Rebuild (npm run build) or reinstall morpho.',
      cause: err,
    })
  }
}

function sendAsset(req: IncomingMessage, res: ServerResponse, asset: Asset, head: boolean, page: boolean) {
  const headers: Record<string, string | number> = {
    'Content-Type': asset.type,
    ETag: asset.etag,
    // Revalidated on every load (a 304 when unchanged): names carry no hash, and an upgraded
    // morpho must never run yesterday's script against today's API.
    'Cache-Control': 'no-cache',
    Vary: 'Accept-Encoding',
    ...SECURITY_HEADERS,
    ...(page ? {'Content-Security-Policy': PAGE_POLICY} : {}),
  }
  if (req.headers['if-none-match'] === asset.etag) {
    res.writeHead(304, headers)
    res.end()
    return
  }
  const gzip = asset.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))
  const body = gzip ? asset.gzip! : asset.body
  res.writeHead(200, {...headers, 'Content-Length': body.length, ...(gzip ? {'Content-Encoding': 'gzip'} : {})})
  res.end(head ? undefined : body)
}

/** The page's files, each read once (from the executable when it carries them, else from disk). */
class AssetStore {
  private readonly cache = new Map<string, Promise<Asset>>()
  private readonly known: ReadonlySet<string> = new Set(PAGE_FILES)

  get(name: string): Promise<Asset> | undefined {
    if (!this.known.has(name)) return undefined
    let asset = this.cache.get(name)
    if (!asset) {
      asset = readAsset(`ui/${name}`, pagePath(name)).then((bytes) => {
        const body = Buffer.from(bytes)
        const type = TYPES[name.slice(name.lastIndexOf('.'))] ?? 'application/octet-stream'
        const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`
        const compressible = type.startsWith('text/') || type === 'image/svg+xml'
        return {body, type, etag, gzip: compressible && body.length > 1024 ? gzipSync(body) : undefined}
      })
      this.cache.set(name, asset)
      asset.catch(() => this.cache.delete(name))
    }
    return asset
  }
}

/** Boundaries are costly and their inputs immutable (a saved model, a loaded version): keep the last few. */
class BoundaryCache {
  private readonly entries = new Map<string, Promise<BoundaryView>>()

  get(key: string, compute: () => Promise<BoundaryView>): Promise<BoundaryView> {
    let entry = this.entries.get(key)
    if (!entry) {
      entry = compute()
      this.entries.set(key, entry)
      entry.catch(() => this.entries.delete(key))
      while (this.entries.size > 16) this.entries.delete(this.entries.keys().next().value!)
    }
    return entry
  }
}

/** A registered version's model, from its verified files (whichever store holds them). */
async function loadRegistered(store: Store, name: string, version: number): Promise<LoadedModel> {
  const entry = await store.registry.read(async (tx) => resolveVersion(await pickModel(tx, name), version))
  return loadVersion(store, name, entry)
}
