import {execFile} from 'node:child_process'
import {cp, mkdir, readdir, readFile, rm, stat, symlink, utimes, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {ROOT, tempDir} from './helpers/cli.js'

/**
 * oclif imports every command module on every call (explicit strategy), so a command that
 * imports its implementation at the top makes every other command slower. The heavy parts
 * (TF.js, the HTTP client, prom-client, the lock library, YAML, the spinner, the ONNX and tar
 * writers, ONNX Runtime) must load only
 * when the command that needs them runs.
 */
const HEAVY = [
  ...['@tensorflow/', 'undici', 'prom-client', 'proper-lockfile', 'yaml', 'ora', 'lowdb'],
  ...['protobufjs', 'tar', 'onnxruntime-node'],
]

describe('start-up', () => {
  let dir: {path: string; cleanup: () => Promise<void>}
  beforeAll(async () => {
    dir = await tempDir()
  })
  afterAll(() => dir.cleanup())

  /** Every module URL or file the CLI loaded for `args`. */
  async function loadedBy(args: string[]): Promise<string[]> {
    const file = join(dir.path, `loads-${args.join('-') || 'none'}.txt`)
    const cjs = join(dir.path, `cjs-${args.join('-') || 'none'}.json`)
    await new Promise<void>((resolve, reject) =>
      execFile(
        process.execPath,
        [
          '--import',
          pathToFileURL(join(ROOT, 'test', 'helpers', 'record-loads.mjs')).href,
          join(ROOT, 'bin', 'run.js'),
          ...args,
        ],
        {
          env: {
            ...process.env,
            NODE_ENV: 'production',
            MORPHO_LOADS_FILE: file,
            MORPHO_CJS_FILE: cjs,
            MORPHO_HOME: dir.path,
          },
        },
        (err, _out, stderr) => (err && err.code !== 4 ? reject(new Error(stderr)) : resolve()),
      ),
    )
    return [...(await readFile(file, 'utf8')).split('\n'), ...JSON.parse(await readFile(cjs, 'utf8'))]
  }

  async function packagesLoadedBy(args: string[]): Promise<string[]> {
    const urls = await loadedBy(args)
    return HEAVY.filter((h) => urls.some((u) => u.includes(`/node_modules/${h}`)))
  }

  it('loads none of the heavy packages for --version, help or a registry read', async () => {
    expect(await packagesLoadedBy(['--version'])).toEqual([])
    expect(await packagesLoadedBy(['--help'])).toEqual([])
    expect(await packagesLoadedBy(['runs', 'list'])).toEqual([])
    expect(await packagesLoadedBy(['list'])).toEqual([])
  })

  it('starts from the bundle: no compiled module and no part of oclif is loaded file by file', async () => {
    for (const args of [['--version'], ['list'], ['help', 'train']]) {
      const files = (await loadedBy(args)).filter((u) => u.includes('/dist/') || u.includes('/@oclif/'))
      expect(files, args.join(' ')).toEqual([])
    }
  })

  it('still loads what a command needs when it runs (the recording works)', async () => {
    // A registry write takes the lock and writes through lowdb (promote on an empty store: exit 4).
    expect(await packagesLoadedBy(['promote', 'Production', '--version', '1'])).toEqual(
      expect.arrayContaining(['proper-lockfile', 'lowdb']),
    )
  })
})

/**
 * The bundle's code cache in an installed layout of its own (a copy of bin/ and dist/ beside
 * the project's node_modules): written on first use, used while it matches the bundle, written
 * again when the bundle changes, and never needed (a read-only install starts without it).
 */
describe('the code cache of the bundle', () => {
  let dir: {path: string; cleanup: () => Promise<void>}
  let cache: string
  const morpho = (args: string[], nodeFlags: string[] = []) =>
    new Promise<{code: number; stdout: string}>((resolve) =>
      execFile(
        process.execPath,
        [...nodeFlags, join(dir.path, 'bin', 'run.js'), ...args],
        {env: {...process.env, NODE_ENV: 'production', MORPHO_HOME: join(dir.path, 'store')}},
        (err, stdout) => resolve({code: err ? Number(err.code) : 0, stdout}),
      ),
    )

  beforeAll(async () => {
    dir = await tempDir('morpho-install-')
    await cp(join(ROOT, 'bin'), join(dir.path, 'bin'), {recursive: true})
    await cp(join(ROOT, 'dist'), join(dir.path, 'dist'), {recursive: true, preserveTimestamps: true})
    await cp(join(ROOT, 'package.json'), join(dir.path, 'package.json'))
    await symlink(join(ROOT, 'node_modules'), join(dir.path, 'node_modules'))
    cache = join(dir.path, 'dist', 'morpho.cjs.cache')
    await rm(cache, {force: true})
  })
  afterAll(() => dir.cleanup())

  const keyOf = async () => {
    const s = await stat(join(dir.path, 'dist', 'morpho.cjs'))
    return `${s.size}:${s.mtimeMs}\n`
  }
  const cacheKey = async () => {
    const bytes = await readFile(cache)
    return bytes.subarray(0, bytes.indexOf(10) + 1).toString()
  }

  it('writes it on first use, for this bundle, and rewrites it when the bundle changes', async () => {
    const first = await morpho(['--version'])
    expect(first.code).toBe(0)
    expect(first.stdout).toMatch(/^morpho\/\d+\.\d+\.\d+ /)
    expect(await cacheKey()).toBe(await keyOf())
    const written = (await stat(cache)).mtimeMs

    expect((await morpho(['help', 'list', '--json'])).code).toBe(0)
    expect((await stat(cache)).mtimeMs).toBe(written)

    // A rebuilt bundle (same length, other mtime) must not run with the old bytecode.
    const later = new Date(Date.now() + 5000)
    await utimes(join(dir.path, 'dist', 'morpho.cjs'), later, later)
    await utimes(join(dir.path, 'dist', 'commands', 'index.js'), later, later)
    expect((await morpho(['--version'])).code).toBe(0)
    expect(await cacheKey()).toBe(await keyOf())
  })

  it('runs without it where it cannot be read or written, and from the compiled modules without the bundle', async () => {
    // A folder where the cache file would be: unreadable as a cache, and never replaced
    // (what a read-only installation amounts to, whoever runs the test).
    await rm(cache, {force: true})
    await mkdir(join(cache, 'in-the-way'), {recursive: true})
    const version = await morpho(['--version'])
    expect(version.code).toBe(0)
    expect((await stat(cache)).isDirectory()).toBe(true)
    expect((await readdir(join(dir.path, 'dist'))).filter((f) => f.endsWith('.tmp'))).toEqual([])
    // tsc ran after the bundle was built: the bundle is stale (this one would fail if it ran),
    // and the compiled modules answer.
    await writeFile(join(dir.path, 'dist', 'morpho.cjs'), 'process.exit(99)\n')
    const later = new Date(Date.now() + 10_000)
    await utimes(join(dir.path, 'dist', 'commands', 'index.js'), later, later)
    const help = await morpho(['help', 'list', '--json'])
    expect(help.code).toBe(0)
    expect(JSON.parse(help.stdout)).toMatchObject({command: 'list'})
    // A Node that cannot require() an ES module (before 20.19) runs the modules too.
    await utimes(join(dir.path, 'dist', 'morpho.cjs'), new Date(Date.now() + 20_000), new Date(Date.now() + 20_000))
    expect((await morpho(['--version'])).code).toBe(99)
    expect((await morpho(['--version'], ['--no-experimental-require-module'])).code).toBe(0)
  })
})
