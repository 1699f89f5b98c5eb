import {HttpError} from '../net/http-error.js'
import type {Ctx, EndpointKit, Endpoints} from './endpoint.js'
import {renderInfer, renderMetadata} from './render.js'
import type {ModelSnapshot} from './snapshot.js'
import {readInferRequest} from './validate.js'

/**
 * The Open Inference Protocol v2 endpoints (/v2/...), as KServe and Triton clients call them:
 * server metadata, liveness and readiness, model metadata and readiness, and infer, each for
 * the served version or for another one named in the path.
 */
export function oipEndpoints(kit: EndpointKit): Endpoints {
  const {holder, allow, finish, fail} = kit

  /** The snapshot a /v2/models/{name}[/versions/{version}] path names, acquired. */
  const model = async (ctx: Ctx): Promise<ModelSnapshot> => {
    const {name, version} = ctx.route!.params
    const served = holder.modelName
    if (served === undefined || name !== served) {
      throw new HttpError('NOT_FOUND', `unknown model "${name}"${served ? `; this server serves "${served}"` : ''}`)
    }
    if (version !== undefined) return holder.acquireVersion(version)
    const snapshot = holder.acquire()
    if (!snapshot) throw kit.noModel()
    return snapshot
  }

  const server = (ctx: Ctx) => {
    allow(ctx, 'GET')
    finish(ctx, 200, JSON.stringify({name: 'morpho', version: kit.morphoVersion, extensions: []}))
  }

  const live = (ctx: Ctx) => {
    allow(ctx, 'GET')
    finish(ctx, 200, '{"live":true}')
  }

  const ready = (ctx: Ctx) => {
    allow(ctx, 'GET')
    const stopping = kit.stopping()
    if (holder.current && !stopping) finish(ctx, 200, '{"ready":true}')
    else
      fail(ctx, stopping ? new HttpError('SHUTTING_DOWN', 'the server is stopping') : kit.noModel(), {
        ready: false,
      })
  }

  const modelReady = async (ctx: Ctx) => {
    allow(ctx, 'GET')
    const snapshot = await model(ctx)
    snapshot.release()
    finish(ctx, 200, '{"ready":true}')
  }

  const metadata = async (ctx: Ctx) => {
    allow(ctx, 'GET')
    const snapshot = await model(ctx)
    try {
      const doc = await kit.registry.read()
      finish(ctx, 200, renderMetadata(snapshot, doc, ctx.route!.params.version !== undefined))
    } finally {
      snapshot.release()
    }
  }

  const infer = (ctx: Ctx) => {
    allow(ctx, 'POST')
    kit.withJson(ctx, async (body) => {
      const snapshot = await model(ctx)
      kit.answerRows(
        ctx,
        snapshot,
        () => readInferRequest(body, kit.limitsOf(snapshot)),
        ({n, outputs, id}, probs) => renderInfer(snapshot, probs, n, outputs, id),
      )
    })
  }

  return {
    '/v2': server,
    '/v2/health/live': live,
    '/v2/health/ready': ready,
    '/v2/models/{name}': metadata,
    '/v2/models/{name}/ready': modelReady,
    '/v2/models/{name}/versions/{version}/ready': modelReady,
    '/v2/models/{name}/versions/{version}': metadata,
    '/v2/models/{name}/infer': infer,
    '/v2/models/{name}/versions/{version}/infer': infer,
  }
}
