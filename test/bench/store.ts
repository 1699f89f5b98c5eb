// npm run bench:store — the registry commands against a folder store and a PostgreSQL store
// holding the same versions of one model (side by side, interleaved, medians), and the time from
// `promote` to every `serve --watch` replica answering with the new version.
//
//   npm run bench:store                          # 10,000 versions, 7 runs of each command
//   npm run bench:store -- --versions 500 --runs 3
//
// stdout is the result as a Markdown table, one row printed as soon as it is measured (with the
// load average at that moment); what the script is doing goes to stderr. It starts and stops a
// throwaway PostgreSQL cluster of its own (Debian's postgresql package, as the tests use).
import {type ChildProcess, spawn, spawnSync} from 'node:child_process'
import {cp, writeFile} from 'node:fs/promises'
import {loadavg} from 'node:os'
import {join} from 'node:path'
import pg from 'pg'
import {promote, readRegistry, registerRun} from '../../src/registry/index.js'
import type {VersionEntry} from '../../src/registry/schema.js'
import {FolderStore} from '../../src/store/folder/folder-store.js'
import {serializeRegistry} from '../../src/store/folder/registry-file.js'
import {PostgresStore} from '../../src/store/postgres/postgres-store.js'
import type {Store} from '../../src/store/store.js'
import {trainRun} from '../../src/tracking/tracked-run.js'
import {resolveTrainOptions} from '../../src/training/options.js'
import {BIN, tempDir} from '../helpers/cli.js'
import {createDatabase, startCluster} from '../helpers/postgres.js'
import {makeRun} from '../helpers/runs.js'
import {startServeProcess} from '../helpers/serve-process.js'
import {cloneVersions} from './versions.mjs'

const USAGE =
  'usage: npm run bench:store -- [--versions N (default 10000)] [--runs N (default 7)] [--replicas N (default 3)]'

function parseArgs(argv: string[]): {versions: number; runs: number; replicas: number} {
  const out = {versions: 10_000, runs: 7, replicas: 3}
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i]!.replace(/^--/, '')
    if (argv[i] === '--help' || argv[i] === '-h') {
      console.log(USAGE)
      process.exit(0)
    }
    if (!argv[i]!.startsWith('--') || !(name in out)) fail(`unknown argument ${argv[i]}`)
    const value = Number(argv[++i])
    if (!Number.isSafeInteger(value) || value < 1) fail(`--${name} takes a whole number from 1, got "${argv[i] ?? ''}"`)
    out[name as keyof typeof out] = value
  }
  // Commands promote versions 3-7 and the replicas follow promotions of the newest versions.
  if (out.versions < out.runs + 10) fail(`--versions must be at least --runs + 10 (${out.runs + 10})`)
  return out
}

function fail(message: string): never {
  process.stderr.write(`bench:store: ${message}\n${USAGE}\n`)
  process.exit(2)
}

const {versions: VERSIONS, runs: RUNS, replicas: REPLICAS} = parseArgs(process.argv.slice(2))
const MODEL = 'bench'
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const note = (line: string) => process.stderr.write(`${line}\n`)
const cores = spawnSync('nproc').stdout.toString().trim()
const loadNow = () => loadavg()[0]!.toFixed(2)
const ms = (t: number) => t.toFixed(0)

// The table's head first, so what is printed is already the start of the result.
console.log(
  `morpho store benchmark: ${VERSIONS} versions of one model, ${RUNS} runs of each command, median ms ` +
    `(each command a CLI child process, folder and PostgreSQL interleaved); load average ${loadNow()} on ${cores} cores at the start`,
)
console.log('')
console.log('| command | folder | PostgreSQL | PostgreSQL ÷ folder | load |')
console.log('|---|---:|---:|---:|---:|')
/** One row, printed as soon as it is measured, with the 1-minute load average when it was. */
function row(name: string, folder: number, postgres: number): void {
  console.log(`| ${name} | ${ms(folder)} | ${ms(postgres)} | ${(postgres / folder).toFixed(2)} | ${loadNow()} |`)
}

const tmp = await tempDir('morpho-bench-store-')
const cluster = await startCluster()
const children: ChildProcess[] = []
let db: PostgresStore | undefined
try {
  const url = await createDatabase(cluster.url(), 'morpho_bench')
  const folder = new FolderStore(join(tmp.path, 'folder'))
  db = new PostgresStore(url)
  const extraRuns = await buildStores(folder, db, url)
  const stores = {folder: ['--home', folder.home], postgres: ['--store', url]}

  // --- The commands, interleaved ------------------------------------------------------------
  const commands: [string, (i: number) => string[]][] = [
    ['list --json', () => ['list', '--json']],
    ['best --json', () => ['best', '--json']],
    ['production --json', () => ['production', '--json']],
    ['promote Production --version N', (i) => ['promote', 'Production', '--version', String(3 + (i % 5)), '--json']],
    ['register RUN-ID', (i) => ['register', extraRuns[i]!, '--model', MODEL, '--json']],
  ]
  for (const [name, args] of commands) {
    const times = {folder: [] as number[], postgres: [] as number[]}
    for (let i = 0; i < RUNS; i++) {
      for (const kind of i % 2 === 0 ? (['folder', 'postgres'] as const) : (['postgres', 'folder'] as const)) {
        times[kind].push((await cli([...args(kind === 'folder' ? i : i + RUNS), ...stores[kind]])).ms)
      }
    }
    note(`${name}: folder ${times.folder.map(ms).join(', ')}; PostgreSQL ${times.postgres.map(ms).join(', ')}`)
    row(name, median(times.folder), median(times.postgres))
  }

  // --- Promote → every replica serving ----------------------------------------------------------
  note(`starting ${REPLICAS} serve --watch replicas on each store`)
  const replicas = {
    folder: await Promise.all(Array.from({length: REPLICAS}, () => replica(stores.folder))),
    postgres: await Promise.all(Array.from({length: REPLICAS}, () => replica(stores.postgres))),
  }
  // Every replica serves the current Production version before the clock starts.
  for (const kind of ['folder', 'postgres'] as const) {
    const current = String(3 + ((kind === 'folder' ? RUNS - 1 : 2 * RUNS - 1) % 5))
    await Promise.all(replicas[kind].map((r) => serving(r, current, 120_000)))
  }
  const follow = {
    folder: {command: [] as number[], write: [] as number[]},
    postgres: {command: [] as number[], write: [] as number[]},
  }
  for (let i = 0; i < RUNS; i++) {
    for (const kind of i % 2 === 0 ? (['folder', 'postgres'] as const) : (['postgres', 'folder'] as const)) {
      const version = String(VERSIONS - i)
      const started = Date.now()
      const {stdout} = await cli(['promote', 'Production', '--version', version, '--json', ...stores[kind]])
      const written = Date.parse((JSON.parse(stdout) as {entry: VersionEntry}).entry.updatedAt)
      await Promise.all(replicas[kind].map((r) => serving(r, version, 60_000)))
      const done = Date.now()
      follow[kind].command.push(done - started)
      follow[kind].write.push(done - written)
    }
  }
  for (const kind of ['folder', 'postgres'] as const) {
    note(
      `promote → every replica, ${kind}: from the command ${follow[kind].command.map(ms).join(', ')}; from the write ${follow[kind].write.map(ms).join(', ')}`,
    )
  }
  const label = `promote → ${REPLICAS} replicas serving`
  row(`${label}, median`, median(follow.folder.command), median(follow.postgres.command))
  row(`${label}, max`, Math.max(...follow.folder.command), Math.max(...follow.postgres.command))
  row(
    `promotion written → ${REPLICAS} replicas serving, median`,
    median(follow.folder.write),
    median(follow.postgres.write),
  )
  row(
    `promotion written → ${REPLICAS} replicas serving, max`,
    Math.max(...follow.folder.write),
    Math.max(...follow.postgres.write),
  )
  console.log('')
  console.log(
    `promote → replicas: from the start of the promote command (a CLI child process) until every replica's /health names the new version, and from the promotion's recorded time (the write) until then; ${RUNS} promotions each. Load average ${loadNow()} at the end.`,
  )
} finally {
  for (const child of children) child.kill('SIGTERM')
  await db?.close()
  await cluster.destroy()
  await tmp.cleanup()
}

// ---------------------------------------------------------------------------------------------

/**
 * The same registry in both stores: v1 registered from a real trained run (so replicas can
 * serve every version), then VERSIONS - 1 more written in bulk as copies of it with their own
 * val_acc (a deterministic spread), every tenth Archived. Returns runs left for `register`.
 */
async function buildStores(folder: FolderStore, db: PostgresStore, url: string): Promise<string[]> {
  const started = performance.now()
  note('training the model every version is a copy of')
  const trained = await trainRun({
    options: resolveTrainOptions({samples: 160, hiddenDim: 8, numLayers: 1, warmUpEpochs: 2, adaptationEpochs: 2}),
    store: folder,
    backend: 'cpu',
    morphoVersion: 'bench',
  })
  const details = await folder.runs.details(trained.runId)
  await db.runs.put({...details, model: await folder.runs.modelFiles(trained.runId)})
  const first = await registerRun(folder, trained.runId, {model: MODEL})
  const dbFirst = await registerRun(db, trained.runId, {model: MODEL})
  const doc = await readRegistry(folder)
  const model = doc.models[MODEL]!
  cloneVersions(doc, MODEL, VERSIONS)

  // Folder: every version's folder (a copy of the first), then the document.
  const source = folder.registry.versionDir(MODEL, first.entry)
  for (let v = 2; v <= VERSIONS; v += 32) {
    const batch = Array.from({length: Math.min(32, VERSIONS - v + 1)}, (_, k) => v + k)
    await Promise.all(batch.map((n) => cp(source, join(folder.home, 'models', MODEL, String(n)), {recursive: true})))
    if ((v - 2) % 2048 === 0 && v > 2) note(`  folder: ${v - 1} of ${VERSIONS} version folders`)
  }
  await writeFile(folder.paths.registryFile, serializeRegistry(doc))
  note(`folder store written (${((performance.now() - started) / 1000).toFixed(1)} s)`)

  // Database: the same rows in bulk; its own copy of v1 has its own manifest (it records when
  // it was registered).
  const client = new pg.Client({connectionString: url})
  await client.connect()
  try {
    await client.query('BEGIN')
    for (let i = 1; i < model.versions.length; i += 1000) {
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
      await client.query(
        "INSERT INTO history (seq, model, entry) SELECT (e->>'seq')::bigint, e->>'model', e FROM json_array_elements($1::json) e",
        [JSON.stringify(doc.history.slice(i, i + 1000))],
      )
    }
    await client.query('UPDATE models SET next_version = $2 WHERE name = $1', [MODEL, VERSIONS + 1])
    await client.query('UPDATE morpho_schema SET next_seq = $1', [VERSIONS + 1])
    await client.query('COMMIT')
  } finally {
    await client.end()
  }
  for (const store of [folder, db] as Store[]) await promote(store, {version: 2, stage: 'Production'})
  const extraRuns: string[] = []
  for (let i = 0; i < RUNS * 2; i++) {
    const run = await makeRun(folder)
    await makeRun(db, {id: run.id})
    extraRuns.push(run.id)
  }
  note(`stores built in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  return extraRuns
}

/** One CLI command as a child process: its wall time and stdout; a failure stops the benchmark. */
function cli(args: string[]): Promise<{ms: number; stdout: string}> {
  return new Promise((resolve, reject) => {
    const t = performance.now()
    const child = spawn(process.execPath, [BIN, ...args], {
      env: {...process.env, NODE_ENV: 'production'},
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => {
      out += d
    })
    child.stderr.on('data', (d) => {
      err += d
    })
    child.on('exit', (code) =>
      code === 0
        ? resolve({ms: performance.now() - t, stdout: out})
        : reject(new Error(`morpho ${args.join(' ')} exited ${code}: ${err || out}`)),
    )
  })
}

interface Replica {
  url: string
}

async function replica(locator: string[]): Promise<Replica> {
  const {child, url} = await startServeProcess([...locator, '--watch', '--port', '0', '--no-ui'])
  children.push(child)
  return {url}
}

/** Waits until the replica's /health names `version`; a replica that does not in time stops the benchmark. */
async function serving(r: Replica, version: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last = ''
  for (;;) {
    const res = await fetch(`${r.url}/health`).catch((err: Error) => err)
    if (!(res instanceof Error)) {
      last = await res.text()
      if ((JSON.parse(last) as {model_version: string | null}).model_version === version) return
    }
    if (Date.now() > deadline) {
      throw new Error(
        `the replica at ${r.url} did not serve v${version} within ${timeoutMs / 1000} s; /health: ${last}`,
      )
    }
    await new Promise((res) => setTimeout(res, 5))
  }
}
