import {execFile} from 'node:child_process'
import {readFile} from 'node:fs/promises'
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

  async function packagesLoadedBy(args: string[]): Promise<string[]> {
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
    const urls = [...(await readFile(file, 'utf8')).split('\n'), ...JSON.parse(await readFile(cjs, 'utf8'))]
    return HEAVY.filter((h) => urls.some((u) => u.includes(`/node_modules/${h}`)))
  }

  it('loads none of the heavy packages for --version, help or a registry read', async () => {
    expect(await packagesLoadedBy(['--version'])).toEqual([])
    expect(await packagesLoadedBy(['--help'])).toEqual([])
    expect(await packagesLoadedBy(['runs', 'list'])).toEqual([])
  })

  it('still loads what a command needs when it runs (the recording works)', async () => {
    expect(await packagesLoadedBy(['list'])).toEqual(expect.arrayContaining(['proper-lockfile', 'lowdb']))
  })
})
