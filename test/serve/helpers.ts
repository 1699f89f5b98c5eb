import {type ClientRequest, request as httpRequest} from 'node:http'
import {WEIGHTS_FILE} from '../../src/model/model-file.js'
import {promote, registerRun} from '../../src/registry/index.js'
import {createLogger, memoryLogger} from '../../src/serve/log.js'
import {type ServeOptions, type Serving, startServing} from '../../src/serve/serve.js'
import {FolderStore} from '../../src/store/folder/folder-store.js'
import type {StorePaths} from '../../src/store/paths.js'
import {PostgresStore} from '../../src/store/postgres/postgres-store.js'
import type {Store} from '../../src/store/store.js'
import {trainRun} from '../../src/tracking/tracked-run.js'
import {resolveTrainOptions} from '../../src/training/options.js'
import {tempDir} from '../helpers/cli.js'
import {nanWeights, plantVersion} from '../helpers/runs.js'

/** The tiny training the integration tests use too: well under a second on wasm. */
export const TINY = {
  samples: 240,
  hiddenDim: 8,
  numLayers: 2,
  warmUpEpochs: 3,
  adaptationEpochs: 3,
  batchSize: 32,
}

export interface TrainedStore {
  home: string
  paths: StorePaths
  store: FolderStore
  runId: string
  cleanup(): Promise<void>
}

/**
 * A store with one real trained run of spirals (3 features, classes 0 and 1), registered
 * `versions` times (the same weights under versions 1..n) with version 1 in Production.
 */
export async function trainedStore(versions = 1): Promise<TrainedStore> {
  const dir = await tempDir('morpho-serve-')
  const store = new FolderStore(dir.path)
  const run = await trainRun({
    options: resolveTrainOptions(TINY),
    store,
    backend: 'wasm',
    morphoVersion: '0.0.0-test',
  })
  for (let i = 0; i < versions; i++) await registerRun(store, run.runId)
  await promote(store, {stage: 'Production', version: 1})
  return {home: dir.path, paths: store.paths, store, runId: run.runId, cleanup: dir.cleanup}
}

/** A server on a free loopback port with a logger the test can read. */
export async function startTestServer(
  store: Store,
  options: Partial<ServeOptions> = {},
): Promise<Serving & {log: ReturnType<typeof memoryLogger>}> {
  const log = memoryLogger()
  const serving = await startServing({
    store,
    port: 0,
    morphoVersion: '0.0.0-test',
    backend: 'wasm',
    ui: false,
    logger: process.env.MORPHO_TEST_LOG ? createLogger({requests: true}) : log,
    ...options,
  })
  return Object.assign(serving, {log})
}

export interface Answer<T = unknown> {
  status: number
  headers: Headers
  body: T
  text: string
}

/** One real HTTP request; the body parsed when it is JSON. */
export async function call<T = Record<string, unknown>>(
  url: string,
  init: {method?: string; body?: string | object; headers?: Record<string, string>} = {},
): Promise<Answer<T>> {
  const headers: Record<string, string> = {...init.headers}
  let body: string | undefined
  if (typeof init.body === 'object') {
    body = JSON.stringify(init.body)
    headers['content-type'] ??= 'application/json'
  } else if (init.body !== undefined) {
    body = init.body
    headers['content-type'] ??= 'application/json'
  }
  const res = await fetch(url, {method: init.method ?? (body === undefined ? 'GET' : 'POST'), headers, body})
  const text = await res.text()
  let parsed: unknown = text
  if ((res.headers.get('content-type') ?? '').includes('json') && text !== '') parsed = JSON.parse(text)
  return {status: res.status, headers: res.headers, body: parsed as T, text}
}

/**
 * A version whose weights are all NaN, in the registry the way a morpho from before
 * registration and promotion loaded the model could leave one (see plantVersion): its files
 * match their manifest, so only loading it and predicting can tell it is broken.
 */
export async function registerBroken(store: TrainedStore): Promise<number> {
  const files = (await store.store.runs.modelFiles(store.runId))!
  files.set(WEIGHTS_FILE, nanWeights(files.get(WEIGHTS_FILE)!))
  return plantVersion(store.store, {model: 'spirals', runId: store.runId, files})
}

/**
 * A POST /predict whose body is only partly sent (`part`): in flight for the server until the
 * caller ends it (req.end(rest)) or destroys it. Errors (the server closing it) are the test's to check.
 */
export function halfSentPredict(port: number, part: string): ClientRequest {
  const req = httpRequest({
    port,
    host: '127.0.0.1',
    method: 'POST',
    path: '/predict',
    headers: {'content-type': 'application/json'},
  })
  req.on('error', () => undefined)
  req.write(part)
  req.flushHeaders()
  return req
}

/**
 * A PostgreSQL store that replicas can follow: one tiny run registered three times
 * (versions 1-3), v1 in Production.
 */
export async function seedFollowedStore(url: string): Promise<void> {
  const store = new PostgresStore(url)
  try {
    const run = await trainRun({
      options: resolveTrainOptions({samples: 160, hiddenDim: 8, numLayers: 1, warmUpEpochs: 2, adaptationEpochs: 2}),
      store,
      backend: 'cpu',
      morphoVersion: 'test',
    })
    for (let i = 0; i < 3; i++) await registerRun(store, run.runId)
    await promote(store, {version: 1, stage: 'Production'})
  } finally {
    await store.close()
  }
}
