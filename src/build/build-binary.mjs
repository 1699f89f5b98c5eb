#!/usr/bin/env node
// Builds build/morpho: one executable file holding Node.js, the compiled CLI, every
// dependency and the TF.js WebAssembly binaries (Node's single executable applications,
// injected with postject). Run `npm run build` first (npm run build:binary does both).
import {execFileSync} from 'node:child_process'
import {chmodSync, copyFileSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {dirname, join, relative} from 'node:path'
import {fileURLToPath} from 'node:url'
import {build} from 'esbuild'
import {inject} from 'postject'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const out = join(root, 'build')
const work = join(out, 'sea')
rmSync(work, {recursive: true, force: true})
mkdirSync(work, {recursive: true})

const started = Date.now()
await build({
  entryPoints: [join(root, 'src', 'build', 'sea-entry.cjs')],
  outfile: join(work, 'morpho.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
  // import.meta does not exist in CommonJS; the compiled ESM uses it for createRequire.
  define: {'import.meta.url': '__import_meta_url'},
  banner: {
    js: "process.env.OCLIF_DISABLE_ENGINE_WARNING??='1';var __import_meta_url=require('node:url').pathToFileURL(__filename).href;",
  },
  // typescript is only read by oclif in development mode; tfjs-node is a native addon, and so
  // is pg-native, which pg loads only when asked to (morpho never does).
  external: ['typescript', '@tensorflow/tfjs-node', 'pg-native'],
})

const assets = {}
const wasmDir = join(root, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist')
for (const name of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm']) assets[name] = join(wasmDir, name)
// The web page's files, under the same keys the server reads them by.
const uiDir = join(root, 'dist', 'ui')
const walk = (dir) =>
  readdirSync(dir, {withFileTypes: true}).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
  )
try {
  for (const file of walk(uiDir)) assets[`ui/${relative(uiDir, file)}`] = file
} catch {
  // No web page in this build.
}

const blob = join(work, 'morpho.blob')
const config = join(work, 'sea-config.json')
writeFileSync(
  config,
  JSON.stringify({
    main: join(work, 'morpho.cjs'),
    output: blob,
    disableExperimentalSEAWarning: true,
    useCodeCache: true,
    assets,
  }),
)
execFileSync(process.execPath, ['--experimental-sea-config', config], {stdio: 'inherit'})

const binary = join(out, 'morpho')
rmSync(binary, {force: true})
copyFileSync(process.execPath, binary)
chmodSync(binary, 0o755)
await inject(binary, 'NODE_SEA_BLOB', (await import('node:fs')).readFileSync(blob), {
  sentinelFuse: 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2',
})
const mb = (p) => (statSync(p).size / 1024 / 1024).toFixed(1)
console.log(
  `built ${relative(root, binary)}: ${mb(binary)} MB (bundle ${mb(join(work, 'morpho.cjs'))} MB, ${Object.keys(assets).length} assets) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
)
