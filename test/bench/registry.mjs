#!/usr/bin/env node
// Registry operations at scale, through the CLI: a store with 10,000 versions of one model,
// then `list`, `list --json`, `best`, `production`, `promote` (and a few more) as child
// processes, median of several runs, side by side with `node -e 0` and `morpho --version`
// measured in the same run. Usage: node test/bench/registry.mjs [--versions N] [--runs N] [--keep]
// Needs a build (npm run bench:registry does it).

import {spawnSync} from 'node:child_process'
import {cp, mkdir, mkdtemp, readFile, rm, stat, writeFile} from 'node:fs/promises'
import {loadavg, tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const BIN = join(ROOT, 'bin', 'run.js')
const {registerRun, readRegistry} = await import(join(ROOT, 'dist/src/registry/index.js'))
const {serializeRegistry, parseRegistry} = await import(join(ROOT, 'dist/src/store/folder/registry-file.js'))
const {FolderStore} = await import(join(ROOT, 'dist/src/store/folder/folder-store.js'))
const {cloneVersions} = await import('./versions.mjs')

const arg = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`)
  return at >= 0 ? Number(process.argv[at + 1]) : fallback
}
const VERSIONS = arg('versions', 10_000)
const RUNS = arg('runs', 7)
const MODEL = 'bench'

const home = await mkdtemp(join(tmpdir(), 'morpho-bench-registry-'))
const paths = new FolderStore(home)

// --- 1. The store -------------------------------------------------------------------------
const t0 = performance.now()
const runId = 'bench-run-1'
await writeRun(home, runId)
const first = await registerRun(paths, runId, {model: MODEL})
const doc = await readRegistry(paths)
const model = doc.models[MODEL]
// Every version is a real folder with the registered files (copies of the first one), and a
// registry entry with its own metrics; a deterministic spread of val_acc with ties and gaps.
cloneVersions(doc, MODEL, VERSIONS, {withoutValAccEvery: 97})
for (let v = 2; v <= VERSIONS; v++) {
  await cp(first.entry.dir, join(home, 'models', MODEL, String(v)), {recursive: true})
}
const production = VERSIONS - 5
model.versions[production - 1].stage = 'Production'
model.versions[production - 1].promotedBy = {rule: 'manual', at: new Date().toISOString()}
model.aliases.champion = production
await writeFile(paths.paths.registryFile, serializeRegistry(doc))
const setupSeconds = (performance.now() - t0) / 1000
const bytes = (await stat(paths.paths.registryFile)).size

// In-process cost of the document itself, for reading the CLI figures.
const text = await readFile(paths.paths.registryFile, 'utf8')
const parseMs = median(Array.from({length: 5}, () => timed(() => parseRegistry(text, paths.paths.registryFile))))
const serializeMs = median(Array.from({length: 5}, () => timed(() => serializeRegistry(doc))))

// --- 2. The CLI ---------------------------------------------------------------------------
const env = {...process.env, NODE_ENV: 'production', NO_COLOR: '1'}
let promoteTarget = VERSIONS - 100
const cases = [
  ['node -e 0', () => [process.execPath, ['-e', '0']]],
  ['morpho --version', () => [process.execPath, [BIN, '--version']]],
  ['list', () => cli('list')],
  ['list --json', () => cli('list', '--json')],
  ['list --stage Production', () => cli('list', '--stage', 'Production')],
  ['best', () => cli('best')],
  ['best --metric val_loss --lower-is-better', () => cli('best', '--metric', 'val_loss', '--lower-is-better')],
  ['production', () => cli('production')],
  ['history --limit 20', () => cli('history', '--limit', '20')],
  // each run promotes a different version, so every one is a real locked write
  ['promote Production --version N', () => cli('promote', 'Production', '--version', String(promoteTarget++))],
  ['alias set challenger N', () => cli('alias', 'set', 'challenger', String(promoteTarget++))],
]

function cli(...args) {
  return [process.execPath, [BIN, ...args, '--home', home]]
}

// Round robin: every case runs once per round, so load from other processes on the machine
// falls on all of them alike and the ratios stay meaningful. Round 0 warms the caches.
const samples = cases.map(() => ({times: [], outBytes: 0}))
for (let round = 0; round <= RUNS; round++) {
  cases.forEach(([name, make], i) => {
    const [cmd, args] = make()
    const t = performance.now()
    const r = spawnSync(cmd, args, {env, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 512 * 1024 * 1024})
    const ms = performance.now() - t
    if (r.status !== 0) {
      console.error(`${name} failed (exit ${r.status}): ${r.stderr.toString().slice(0, 500)}`)
      process.exit(1)
    }
    samples[i].outBytes = r.stdout.length
    if (round > 0) samples[i].times.push(ms)
  })
}
const results = cases.map(([name], i) => {
  const {times, outBytes} = samples[i]
  return {name, median: median(times), min: Math.min(...times), max: Math.max(...times), outBytes}
})

// --- 3. Report ----------------------------------------------------------------------------
const base = results[0].median
const version = results[1].median
const finalDoc = await readRegistry(paths)
const inProduction = finalDoc.models[MODEL].versions.filter((v) => v.stage === 'Production').length

console.log(
  `\nmorpho registry benchmark: ${VERSIONS} versions of one model, ${RUNS} timed runs each (median), Node ${process.versions.node}`,
)
console.log(
  `registry.json ${(bytes / 1024 / 1024).toFixed(1)} MiB (history ${VERSIONS} entries); store built in ${setupSeconds.toFixed(1)} s`,
)
console.log(`in-process: parse + validate ${parseMs.toFixed(1)} ms, serialize ${serializeMs.toFixed(1)} ms\n`)
const header = ['command', 'median ms', 'min', 'max', 'x node -e 0', 'x --version', 'stdout']
const rows = results.map((r) => [
  r.name,
  r.median.toFixed(0),
  r.min.toFixed(0),
  r.max.toFixed(0),
  (r.median / base).toFixed(1),
  (r.median / version).toFixed(2),
  r.outBytes > 1024 * 1024 ? `${(r.outBytes / 1024 / 1024).toFixed(1)} MiB` : `${(r.outBytes / 1024).toFixed(1)} KiB`,
])
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
const line = (cells) =>
  `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`
console.log(line(header))
console.log(`|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`)
for (const row of rows) console.log(line(row))
console.log(
  `\nafter the run: ${inProduction} version(s) in Production (must be 1); load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
)

if (process.argv.includes('--keep')) console.log(`store kept at ${home}`)
else await rm(home, {recursive: true, force: true})
if (inProduction !== 1) process.exit(1)

// ------------------------------------------------------------------------------------------

function timed(fn) {
  const t = performance.now()
  fn()
  return performance.now() - t
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** A completed run with a small saved model, as training leaves it. */
async function writeRun(home, id) {
  const dir = join(home, 'runs', id)
  await mkdir(join(dir, 'model'), {recursive: true})
  const weights = new Float32Array(2 * 32 + 32 + 32 * 32 + 32 + 32 * 2 + 2).map((_, i) => Math.sin(i))
  const modelFile = {
    format: 'morpho-model',
    formatVersion: 1,
    architecture: {inputDim: 2, hiddenDim: 32, numLayers: 1, seedsPerLayer: 1, numClasses: 2},
    seeds: [],
    scaler: {mean: [0, 0], std: [1, 1]},
    classes: [0, 1],
    problem: 'spirals',
    runId: id,
    createdAt: new Date().toISOString(),
    weightsManifest: [{paths: ['weights.bin'], weights: []}],
  }
  await writeFile(join(dir, 'model', 'model.json'), JSON.stringify(modelFile))
  await writeFile(join(dir, 'model', 'weights.bin'), new Uint8Array(weights.buffer))
  const summary = {
    val_acc: 0.93,
    val_loss: 0.2,
    train_loss: 0.15,
    best_val_acc: 0.94,
    seeds_germinated: 1,
    parameters: weights.length,
  }
  const run = {
    schemaVersion: 1,
    id,
    status: 'completed',
    problem: 'spirals',
    params: {},
    seed: 1,
    backend: {name: 'cpu', requested: 'cpu', tfjsVersion: '4.22.0'},
    versions: {morpho: '0.1.0', node: process.versions.node},
    createdAt: new Date().toISOString(),
    summary,
    model: 'model',
  }
  await writeFile(join(dir, 'run.json'), JSON.stringify(run))
}
