// npm run bench:store — the registry commands against a folder store and a PostgreSQL store
// holding the same 10,000 versions (side by side, interleaved, medians), and the time from
// `promote` to every one of three `serve --watch` replicas answering with the new version.
//
//   npm run bench:store -- --versions 10000 --runs 7
import {spawn, spawnSync} from 'node:child_process'
import {loadavg} from 'node:os'
import {join} from 'node:path'
import pg from 'pg'
import {promote, readRegistry, registerRun} from '../../src/registry/index.js'
import {FolderStore} from '../../src/store/folder/folder-store.js'
import {serializeRegistry} from '../../src/store/folder/registry-file.js'
import {PostgresStore} from '../../src/store/postgres/postgres-store.js'
import type {Store} from '../../src/store/store.js'
import {BIN, tempDir} from '../helpers/cli.js'
import {createDatabase, startCluster} from '../helpers/postgres.js'
import {makeRun} from '../helpers/runs.js'
import {startServeProcess} from '../helpers/serve-process.js'

const arg = (name: string, fallback: number) => {
  const at = process.argv.indexOf(`--${name}`)
  return at >= 0 ? Number(process.argv[at + 1]) : fallback
}
const VERSIONS = arg('versions', 10_000)
const RUNS = arg('runs', 7)
const MODEL = 'bench'
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const load = loadavg()[0]!
process.stderr.write(`load average ${load.toFixed(2)} on ${spawnSync('nproc').stdout.toString().trim()} cores\n`)

const tmp = await tempDir('morpho-bench-store-')
const cluster = await startCluster()
const url = await createDatabase(cluster.url(), 'morpho_bench')
const folder = new FolderStore(join(tmp.path, 'folder'))
const db = new PostgresStore(url)

// --- 1. The same registry in both stores ---------------------------------------------------
const started = performance.now()
const template = await makeRun(folder, {id: 'bench-run-1'})
await makeRun(db, {id: 'bench-run-1'})
const first = await registerRun(folder, template.id, {model: MODEL})
const dbFirst = await registerRun(db, template.id, {model: MODEL})
const doc = await readRegistry(folder)
const model = doc.models[MODEL]!
let rng = 12345
const random = () => {
  rng = (rng * 1103515245 + 12345) % 2 ** 31
  return rng / 2 ** 31
}
const t0 = Date.parse(first.entry.createdAt)
const {aliases: _a, dir: _d, model: _m, ...entry1} = first.entry
for (let v = 2; v <= VERSIONS; v++) {
  const time = new Date(t0 + v * 1000).toISOString()
  const metrics = {...entry1.metrics, val_acc: Math.round((0.7 + random() * 0.29) * 1e4) / 1e4}
  model.versions.push({
    ...entry1,
    version: v,
    stage: v % 10 === 0 ? 'Archived' : 'None',
    runId: `bench-run-${v}`,
    createdAt: time,
    updatedAt: time,
    metrics,
    path: `models/${MODEL}/${v}`,
  })
  doc.history.push({
    seq: v,
    time,
    model: MODEL,
    version: v,
    action: 'register',
    from: null,
    to: 'None',
    reason: `registered run bench-run-${v}`,
    rule: {rule: 'manual'},
    actor: doc.history[0]!.actor,
  })
}
model.nextVersion = VERSIONS + 1
// Folder: the document, and every version's folder (a copy of the first).
const {writeFile, cp} = await import('node:fs/promises')
for (let v = 2; v <= VERSIONS; v++) {
  await cp(first.entry.dir, join(folder.home, 'models', MODEL, String(v)), {recursive: true})
}
await writeFile(folder.paths.registryFile, serializeRegistry(doc))
// Database: the same rows, in bulk.
const client = new pg.Client({connectionString: url})
await client.connect()
await client.query('BEGIN')
for (let i = 1; i < model.versions.length; i += 1000) {
  // The database's own copy of v1 has its own manifest (it records when it was registered).
  const chunk = model.versions.slice(i, i + 1000).map((e) => ({...e, manifestSha256: dbFirst.entry.manifestSha256}))
  await client.query(
    "INSERT INTO versions (model, version, stage, entry) SELECT $1, (e->>'version')::int, e->>'stage', e FROM json_array_elements($2::json) e",
    [MODEL, JSON.stringify(chunk)],
  )
  await client.query(
    `INSERT INTO version_files (model, version, path, bytes)
       SELECT f.model, v, f.path, f.bytes FROM version_files f, generate_series($2::int, $3::int) v
       WHERE f.model = $1 AND f.version = 1`,
    [MODEL, chunk[0]!.version, chunk.at(-1)!.version],
  )
  const hist = doc.history.slice(i, i + 1000)
  await client.query(
    "INSERT INTO history (seq, model, entry) SELECT (e->>'seq')::bigint, e->>'model', e FROM json_array_elements($1::json) e",
    [JSON.stringify(hist)],
  )
}
await client.query('UPDATE models SET next_version = $2 WHERE name = $1', [MODEL, VERSIONS + 1])
await client.query('UPDATE morpho_schema SET next_seq = $1', [VERSIONS + 1])
await client.query('COMMIT')
await client.end()
for (const store of [folder, db] as Store[]) await promote(store, {version: 2, stage: 'Production'})
const extraRuns: string[] = []
for (let i = 0; i < RUNS * 2; i++) {
  const run = await makeRun(folder)
  await makeRun(db, {id: run.id})
  extraRuns.push(run.id)
}
process.stderr.write(`stores built in ${((performance.now() - started) / 1000).toFixed(1)} s\n`)

// --- 2. The commands, interleaved -----------------------------------------------------------
function cli(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const t = performance.now()
    const child = spawn(process.execPath, [BIN, ...args], {
      env: {...process.env, NODE_ENV: 'production'},
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let err = ''
    child.stderr.on('data', (d) => {
      err += d
    })
    child.on('exit', (code) =>
      code === 0 ? resolve(performance.now() - t) : reject(new Error(`${args.join(' ')}: ${err}`)),
    )
  })
}
const stores = {folder: ['--home', folder.home], postgres: ['--store', url]}
const commands: [string, (i: number) => string[]][] = [
  ['list', () => ['list', '--json']],
  ['best', () => ['best', '--json']],
  ['production', () => ['production', '--json']],
  ['promote', (i) => ['promote', 'Production', '--version', String(3 + (i % 5)), '--json']],
  ['register', (i) => ['register', extraRuns[i]!, '--model', MODEL, '--json']],
]
const rows: {name: string; folder: number; postgres: number}[] = []
for (const [name, args] of commands) {
  const times: Record<string, number[]> = {folder: [], postgres: []}
  for (let i = 0; i < RUNS; i++) {
    for (const kind of i % 2 === 0 ? ['folder', 'postgres'] : ['postgres', 'folder']) {
      times[kind]!.push(await cli([...args(kind === 'folder' ? i : i + RUNS), ...stores[kind as 'folder']]))
    }
  }
  rows.push({name, folder: median(times.folder!), postgres: median(times.postgres!)})
}

// --- 3. Promote → every replica serving the new version ---------------------------------------
async function replica(locator: string[]): Promise<{url: string; stop(): void}> {
  const {child, url} = await startServeProcess([...locator, '--watch', '--port', '0', '--no-ui'])
  return {url, stop: () => child.kill('SIGTERM')}
}
async function followTimes(locator: string[]): Promise<number[]> {
  const replicas = await Promise.all([replica(locator), replica(locator), replica(locator)])
  const out: number[] = []
  try {
    for (let i = 0; i < RUNS; i++) {
      const version = String(20 + i)
      const t = performance.now()
      await cli(['promote', 'Production', '--version', version, ...locator])
      await Promise.all(
        replicas.map(async (r) => {
          for (;;) {
            const h = (await (await fetch(`${r.url}/health`)).json()) as {model_version: string}
            if (h.model_version === version) return
            await new Promise((res) => setTimeout(res, 5))
          }
        }),
      )
      out.push(performance.now() - t)
    }
  } finally {
    for (const r of replicas) r.stop()
  }
  return out
}
const followFolder = await followTimes(stores.folder)
const followDb = await followTimes(stores.postgres)
rows.push({name: 'promote → 3 replicas serving', folder: median(followFolder), postgres: median(followDb)})

// --- 4. Report --------------------------------------------------------------------------------
console.log(
  `\nmorpho store benchmark: ${VERSIONS} versions of one model, ${RUNS} runs each (median ms, the CLI as a process), load ${load.toFixed(2)}`,
)
console.log('| command | folder | PostgreSQL | PostgreSQL ÷ folder |')
console.log('|---|---:|---:|---:|')
for (const r of rows) {
  console.log(
    `| ${r.name} | ${r.folder.toFixed(0)} | ${r.postgres.toFixed(0)} | ${(r.postgres / r.folder).toFixed(2)} |`,
  )
}
console.log(
  `\npromote → every replica (ms, each run): folder ${followFolder.map((t) => t.toFixed(0)).join(', ')}; PostgreSQL ${followDb.map((t) => t.toFixed(0)).join(', ')}`,
)
await db.close()
await cluster.destroy()
await tmp.cleanup()
