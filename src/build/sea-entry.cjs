'use strict'
// Entry of the single-file executable (see build-binary.mjs). Bundled with the compiled
// dist/ and every dependency; TF.js stays lazy, and its WebAssembly binaries travel inside
// the executable as assets, extracted once into a per-user cache when first needed.
const {createHash} = require('node:crypto')
const {mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync} = require('node:fs')
const {createRequire} = require('node:module')
const {homedir, tmpdir} = require('node:os')
const {dirname, join} = require('node:path')
const sea = require('node:sea')
const packageJson = require('../../package.json')
const {COMMANDS} = require('../../dist/commands/index.js')
const {setTfModules} = require('../../dist/src/tf/backend.js')
const {setAssetSource} = require('../../dist/src/assets.js')
const {launch} = require('./launch.cjs')

const WASM_FILES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm']

function assetBytes(key) {
  return Buffer.from(sea.getRawAsset(key))
}

/** A folder only this user can write: ~/.cache/morpho/<version>, else a private temp folder. */
function cacheDir() {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache')
  const dir = join(base, 'morpho', packageJson.version)
  try {
    mkdirSync(dir, {recursive: true, mode: 0o700})
    return dir
  } catch {
    return mkdtempSync(join(tmpdir(), 'morpho-'))
  }
}

function extractWasm() {
  let dir = cacheDir()
  const write = (target) => {
    for (const name of WASM_FILES) {
      const bytes = assetBytes(name)
      const path = join(target, name)
      let current
      try {
        current = readFileSync(path)
      } catch {}
      if (
        current &&
        createHash('sha256').update(current).digest('hex') === createHash('sha256').update(bytes).digest('hex')
      )
        continue
      const tmp = `${path}.${process.pid}.tmp`
      writeFileSync(tmp, bytes, {mode: 0o600})
      renameSync(tmp, path)
    }
  }
  try {
    write(dir)
  } catch {
    dir = mkdtempSync(join(tmpdir(), 'morpho-'))
    write(dir)
  }
  return `${dir}/`
}

// tfjs-node cannot live inside one file (a native addon plus libtensorflow); where it is
// installed beside the executable, it is used.
const beside = createRequire(join(dirname(process.execPath), 'node_modules', 'morpho.cjs'))
let wasmDir
setTfModules({
  loadNode: () => beside('@tensorflow/tfjs-node'),
  loadCore: () => require('@tensorflow/tfjs'),
  loadWasm: () => {
    const wasm = require('@tensorflow/tfjs-backend-wasm')
    wasmDir ??= extractWasm()
    wasm.setWasmPaths(wasmDir)
    return wasm
  },
})
setAssetSource((key) => {
  try {
    return assetBytes(key)
  } catch {
    return undefined
  }
})

// No manifest beside the executable: oclif describes the commands from the map itself.
launch({
  root: dirname(process.execPath),
  pjson: packageJson,
  commands: COMMANDS,
  hooks: {command_not_found: () => require('../../dist/src/cli/not-found.js').default},
})
