import {chmod, mkdir, readdir, readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parseJson, runCli, tempDir} from '../helpers/cli.js'
import {exportCli, SEED_CASES, syntheticVersion} from './support.js'

/** Every bad export or --model-file is a clear error with a stable exit code, and writes nothing. */

interface Envelope {
  error: {code: string; exitCode: number; message: string; hint?: string}
}

let home: {path: string; cleanup: () => Promise<void>}
let out: string
beforeAll(async () => {
  home = await tempDir('morpho-export-errors-')
  await syntheticVersion(home.path, 'spirals', SEED_CASES['one live seed']!)
  out = join(home.path, 'out')
  await mkdir(out)
})
afterAll(() => home?.cleanup())

/** --out's folder holds exactly these names: no partial files left beside them. */
async function outFolder(): Promise<string[]> {
  return (await readdir(out)).sort()
}

describe('morpho export refuses', () => {
  it('an unknown format (exit 2)', async () => {
    const res = await exportCli(home.path, 'spirals@1', 'pickle', join(out, 'x'))
    expect(res.code).toBe(2)
    expect(parseJson<Envelope>(res.stdout).error.message).toMatch(/pickle/)
    expect(await outFolder()).toEqual([])
  })

  it('a version, alias or model that does not exist (exit 4)', async () => {
    for (const [ref, message] of [
      ['spirals@9', 'spirals has no version 9 (versions 1-1)'],
      ['spirals@champion', 'spirals has no alias "champion"'],
      ['spirals@Production', 'spirals has no version in Production'],
      ['nope', 'no registered model or run with a saved model called "nope"'],
    ]) {
      const res = await exportCli(home.path, ref!, 'onnx', join(out, 'x.onnx'))
      expect(res.code, ref).toBe(4)
      expect(parseJson<Envelope>(res.stdout).error.message).toBe(message)
    }
    expect(await outFolder()).toEqual([])
  })

  it('an --out that exists, unless --force (exit 5); --force replaces it whole', async () => {
    const target = join(out, 'model.onnx')
    await writeFile(target, 'keep me')
    const res = await exportCli(home.path, 'spirals@1', 'onnx', target)
    expect(res.code).toBe(5)
    expect(parseJson<Envelope>(res.stdout).error).toMatchObject({
      code: 'CONFLICT',
      hint: 'Choose another --out, or pass --force to replace it.',
    })
    expect(await readFile(target, 'utf8')).toBe('keep me')

    const forced = await exportCli(home.path, 'spirals@1', 'onnx', target, '--force')
    expect(forced.code, forced.stderr).toBe(0)
    expect((await readFile(target)).byteLength).toBe(forced.json!.files[0]!.size)
    // A folder export over an existing folder: the old files do not survive beside the new ones.
    const dir = join(out, 'web')
    await mkdir(dir)
    await writeFile(join(dir, 'old.txt'), 'old')
    expect((await exportCli(home.path, 'spirals@1', 'tfjs', dir, '--force')).code).toBe(0)
    expect((await readdir(dir)).sort()).toEqual(['model.json', 'weights.bin'])
    expect(await outFolder()).toEqual(['model.onnx', 'web'])
  })

  it('a version whose files changed since registration (exit 7), writing nothing', async () => {
    const {version} = await syntheticVersion(home.path, 'tampered', SEED_CASES['one live seed']!)
    const weights = join(home.path, 'models', 'tampered', String(version), 'weights.bin')
    await chmod(weights, 0o644)
    const bytes = await readFile(weights)
    bytes[10]! ^= 0xff
    await writeFile(weights, bytes)
    const res = await exportCli(home.path, `tampered@${version}`, 'archive', join(out, 't.tgz'))
    expect(res.code).toBe(7)
    expect(parseJson<Envelope>(res.stdout).error.message).toMatch(
      /^version tampered v1 failed verification: weights.bin sha256 mismatch/,
    )
    expect(await outFolder()).toEqual(['model.onnx', 'web'])
  })

  it('an archive of a run that is not registered (exit 2)', async () => {
    const runs = await readdir(join(home.path, 'runs'))
    const res = await exportCli(home.path, runs[0]!, 'archive', join(out, 'r.tgz'))
    expect(res.code).toBe(2)
    expect(parseJson<Envelope>(res.stdout).error.hint).toMatch(/^Register it first/)
  })
})

describe('morpho export after an export that was killed', () => {
  it("removes the partial copy a dead export left beside --out, and keeps a running one's", async () => {
    const dir = join(home.path, 'killed')
    await mkdir(dir)
    // A pid no process has (above the kernel's pid_max), and this test's own, which is alive.
    const dead = join(dir, '.model.onnx.partial-99999999-0badc0de')
    const running = join(dir, `.model.onnx.partial-${process.pid}-0123abcd`)
    const replaced = join(dir, '.model.onnx.replaced-99999999-0badc0de')
    for (const path of [dead, running, replaced]) await writeFile(path, 'left behind')
    const res = await exportCli(home.path, 'spirals@1', 'onnx', join(dir, 'model.onnx'))
    expect(res.code, res.stderr).toBe(0)
    expect((await readdir(dir)).sort()).toEqual([
      `.model.onnx.partial-${process.pid}-0123abcd`,
      '.model.onnx.replaced-99999999-0badc0de',
      'model.onnx',
    ])
  })
})

describe('morpho predict --model-file refuses', () => {
  it('a file that does not exist (exit 4), one that is not a model (exit 6), and rows of the wrong width (exit 6)', async () => {
    const missing = await runCli(['predict', '--model-file', join(out, 'none.onnx'), '--data', '[[1,2,3]]', '--json'])
    expect(missing.code).toBe(4)
    const junk = join(home.path, 'junk.onnx')
    await writeFile(junk, 'not a model at all')
    const bad = await runCli(['predict', '--model-file', junk, '--data', '[[1,2,3]]', '--json'])
    expect(bad.code).toBe(6)
    expect(parseJson<Envelope>(bad.stdout).error.message).toMatch(/junk.onnx is not an ONNX model/)
    const notTfjs = join(home.path, 'other.json')
    await writeFile(notTfjs, '{"hello": 1}')
    const wrong = await runCli(['predict', '--model-file', notTfjs, '--data', '[[1,2,3]]', '--json'])
    expect(wrong.code).toBe(6)
    expect(parseJson<Envelope>(wrong.stdout).error.message).toMatch(/is not a TF.js LayersModel/)
    const width = await runCli(['predict', '--model-file', join(out, 'web'), '--data', '[[1,2]]', '--json'])
    expect(width.code).toBe(6)
    expect(parseJson<Envelope>(width.stdout).error.message).toBe('data[0] has 2 features; model spirals v1 takes 3')
  })

  it('an ONNX file where ONNX Runtime is not installed: exit 1, saying how to install it', async () => {
    const preload = join(import.meta.dirname, '..', 'helpers', 'without-onnxruntime.cjs')
    const file = join(home.path, 'no-runtime.onnx')
    expect((await exportCli(home.path, 'spirals@1', 'onnx', file)).code).toBe(0)
    const res = await runCli(['predict', '--model-file', file, '--data', '[[1,2,3]]', '--json'], {
      env: {NODE_OPTIONS: `--require ${preload}`},
    })
    expect(res.code).toBe(1)
    const {error} = parseJson<Envelope>(res.stdout)
    expect(error.code).toBe('BACKEND_UNAVAILABLE')
    expect(error.message).toMatch(/^ONNX Runtime \(onnxruntime-node\) is not installed/)
    expect(error.hint).toContain('npm install onnxruntime-node --onnxruntime-node-install=skip')
  })

  it('--model-file with --url or --version (exit 2)', async () => {
    const res = await runCli([
      'predict',
      '--model-file',
      join(out, 'model.onnx'),
      '--version',
      '1',
      '--data',
      '[[1,2,3]]',
    ])
    expect(res.code).toBe(2)
    expect(res.stderr).toMatch(/--version cannot also be provided when using --model-file|cannot also be provided/)
  })
})
