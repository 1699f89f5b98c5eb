#!/usr/bin/env node
// The installed CLI's start-up file, built after tsc (`npm run build`):
//
//   dist/oclif.manifest.json  every command's flags, args and help, so oclif finds and
//                             describes commands without importing them
//   dist/morpho.cjs           the compiled CLI and @oclif/core in one file; each command's
//                             module runs only when that command does
//   dist/morpho.cjs.cache     V8's code cache for it, from one run of `morpho --help` here
//                             (bin/run.js writes it again if this Node refuses it)
//
// bin/run.js loads the bundle when it is current. Loading ~200 modules one by one (resolve,
// read, compile each) was most of a command's start-up; one file with a code cache is not.
// TF.js, the HTTP client, prom-client and the other heavy packages stay outside it, in
// node_modules, and load only when a command needs them (test/startup.integration.test.ts).
import {execFileSync} from 'node:child_process'
import {readdirSync, rmSync, writeFileSync} from 'node:fs'
import {dirname, join, relative, sep} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'
import {Config} from '@oclif/core'
import {build} from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const dist = join(root, 'dist')

/** Loaded from node_modules when a command needs them, never part of start-up. */
export const EXTERNAL = [
  '@tensorflow/*',
  'undici',
  'prom-client',
  'proper-lockfile',
  'yaml',
  'ora',
  'lowdb',
  'protobufjs',
  'protobufjs/*',
  'tar',
  // The PostgreSQL client, for a database store only; pg-native is an addon pg never loads here.
  'pg',
  'pg-native',
  // Only read by oclif in development mode.
  'typescript',
]

/**
 * Packages among them that are ES modules only. The bundle is CommonJS, so it loads them with
 * require() (Node 20.19 and later can; bin/run.js uses the bundle only where it can). esbuild
 * would give their default export as the whole module namespace (how it reads a default import
 * of CommonJS from an ES module); a re-export through a stub of our own gives the real one.
 */
const ESM_ONLY = ['ora', 'lowdb']

function esmOnlyInterop(names) {
  const filter = new RegExp(`^(${names.join('|')})$`)
  return {
    name: 'esm-only-externals',
    setup(b) {
      b.onResolve({filter}, (args) =>
        args.namespace === 'esm-only' ? {path: args.path, external: true} : {path: args.path, namespace: 'esm-only'},
      )
      b.onLoad({filter: /.*/, namespace: 'esm-only'}, (args) => ({
        contents: `export * from ${JSON.stringify(args.path)}\nexport {default} from ${JSON.stringify(args.path)}\n`,
        resolveDir: root,
        loader: 'js',
      }))
    },
  }
}

// Never leave a bundle of older sources behind a failed build: bin/run.js would run it.
for (const file of ['morpho.cjs', 'morpho.cjs.cache', 'oclif.manifest.json']) rmSync(join(dist, file), {force: true})

// oclif's own manifest of the commands, as `oclif manifest` builds it (it imports every command).
const config = await Config.load({root, userPlugins: false, devPlugins: false})
const manifest = config.plugins.get(config.pjson.name).manifest
writeFileSync(join(dist, 'oclif.manifest.json'), `${JSON.stringify(manifest)}\n`)

// The entry: each command behind a getter, so only the one that runs is evaluated. Which file
// holds which command is found by identity: the file whose default export is the class that
// commands/index.ts maps the id to.
const {COMMANDS} = await import(pathToFileURL(join(dist, 'commands', 'index.js')).href)
const files = readdirSync(join(dist, 'commands'), {recursive: true}).filter((f) => f.endsWith('.js'))
const fileOf = new Map()
for (const file of files) {
  const {default: command} = await import(pathToFileURL(join(dist, 'commands', file)).href)
  if (command) fileOf.set(command, `./commands/${file.split(sep).join('/')}`)
}
const ids = Object.keys(manifest.commands).sort()
const getters = ids
  .map((id) => {
    const file = fileOf.get(COMMANDS[id])
    if (!file) throw new Error(`no file under dist/commands exports the command "${id}" as its default`)
    return `  get ${JSON.stringify(id)}() { return require(${JSON.stringify(file)}).default },`
  })
  .join('\n')
// Hooks are named in package.json by their compiled files; the bundle holds them itself.
const hooks = Object.entries(config.pjson.oclif.hooks ?? {})
  .map(([event, file]) => `  ${JSON.stringify(event)}: () => require(${JSON.stringify(`.${file.replace(/^\.\/dist/, '')}`)}).default,`)
  .join('\n')
const entry = `'use strict'
const {setAssetSource} = require('./src/assets.js')
const {launch} = require('../src/build/launch.cjs')
const {readFileSync} = require('node:fs')
const {join} = require('node:path')
// The web page's files, from dist/ui.
setAssetSource((key) => {
  try {
    return readFileSync(join(__dirname, key))
  } catch {
    return undefined
  }
})
launch({
  root: __dirname,
  pjson: require('../package.json'),
  commands: {
${getters}
  },
  hooks: {
${hooks}
  },
})
`
const started = Date.now()
await build({
  stdin: {contents: entry, resolveDir: dist, sourcefile: 'morpho-entry.cjs', loader: 'js'},
  outfile: join(dist, 'morpho.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  minify: process.env.MORPHO_BUNDLE_MINIFY !== "0",
  legalComments: 'none',
  logLevel: 'warning',
  // import.meta does not exist in CommonJS; the compiled ESM uses it for createRequire.
  define: {'import.meta.url': '__import_meta_url'},
  banner: {js: "var __import_meta_url=require('node:url').pathToFileURL(__filename).href;"},
  external: EXTERNAL,
  // import() of a package outside the bundle as require(): a script compiled from V8's code
  // cache has no dynamic-import callback in Node 20 (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING).
  supported: {'dynamic-import': false},
  plugins: [esmOnlyInterop(ESM_ONLY)],
})
// The code cache, so the first run of an installation (or a read-only one) starts fast too.
execFileSync(process.execPath, [join(root, 'bin', 'run.js'), '--help'], {
  env: {...process.env, NODE_ENV: 'production'},
  stdio: 'ignore',
})
console.log(
  `bundled ${relative(root, join(dist, 'morpho.cjs'))} (${ids.length} commands) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
)
