#!/usr/bin/env node
// Built, morpho starts from dist/morpho.cjs (src/build/bundle.mjs): one file, compiled from
// V8's code cache after the first run, which starts in about half the time it takes to load the
// compiled modules one by one. Those are the fallback: when the bundle is missing or older than
// the compiled commands (tsc ran alone), on a Node that cannot require() an ES module, and in
// development and test mode, where oclif maps the commands back to their TypeScript sources.
import {closeSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync} from 'node:fs'
import Module from 'node:module'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import vm from 'node:vm'

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist')
const bundle = join(dist, 'morpho.cjs')

function current() {
  if (process.env.NODE_ENV === 'development' || process.env.NODE_ENV === 'test') return undefined
  // The bundle require()s the packages that are ES modules only (Node 20.19 and later).
  if (!process.features.require_module) return undefined
  try {
    const stat = statSync(bundle)
    return stat.mtimeMs >= statSync(join(dist, 'commands', 'index.js')).mtimeMs ? stat : undefined
  } catch {
    return undefined
  }
}

/**
 * Runs the bundle as Node runs a CommonJS module, but compiled with V8's code cache. V8 checks
 * a cache only against the source's length, so the cache names the bundle it was made from
 * (size and mtime) and is ignored for any other; a missing or refused cache is written again
 * when the process exits, covering every function that run compiled.
 */
function runBundle(stat) {
  const cacheFile = `${bundle}.cache`
  const key = Buffer.from(`${stat.size}:${stat.mtimeMs}\n`)
  let cachedData
  try {
    const bytes = readFileSync(cacheFile)
    if (bytes.subarray(0, key.length).equals(key)) cachedData = bytes.subarray(key.length)
  } catch {}
  // The bundle has no import() (src/build/bundle.mjs): a script compiled from a code cache
  // cannot have Node's dynamic-import callback.
  const script = new vm.Script(Module.wrap(readFileSync(bundle, 'utf8')), {filename: bundle, cachedData})
  if (cachedData === undefined || script.cachedDataRejected) {
    process.once('exit', () => {
      const tmp = `${cacheFile}.${process.pid}.tmp`
      try {
        const fd = openSync(tmp, 'w')
        writeSync(fd, key)
        writeSync(fd, script.createCachedData())
        closeSync(fd)
        renameSync(tmp, cacheFile)
      } catch {
        // A read-only installation just starts without the cache.
        rmSync(tmp, {force: true})
      }
    })
  }
  const module = new Module(bundle)
  module.filename = bundle
  module.paths = Module._nodeModulePaths(dist)
  const require = Module.createRequire(bundle)
  script.runInThisContext().call(module.exports, module.exports, require, module, bundle, dist)
}

const stat = current()
if (stat) runBundle(stat)
else await (await import('@oclif/core')).execute({dir: import.meta.url})
