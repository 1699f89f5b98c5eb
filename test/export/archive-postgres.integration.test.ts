import {join} from 'node:path'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {parseJson, runCli, tempDir} from '../helpers/cli.js'
import {openTestStore, type TestStore} from '../helpers/stores.js'
import {flipByte} from './archive.js'
import {exportCli, maxDiff, predictRegistry, SEED_CASES, syntheticRows, syntheticVersion} from './support.js'

/**
 * An archive from a folder store imported into the team store on PostgreSQL: the same files
 * (the same manifest sha256), the same answers, the provenance in the history; a damaged
 * archive registers nothing there either.
 */

let work: {path: string; cleanup: () => Promise<void>}
let pg: TestStore
let archive: string

beforeAll(async () => {
  work = await tempDir('morpho-archive-pg-')
  pg = await openTestStore('postgres')
  await syntheticVersion(work.path, 'spirals', SEED_CASES['two live seeds, one mid-blend']!)
  archive = join(work.path, 'spirals-v1.tgz')
  expect((await exportCli(work.path, 'spirals@1', 'archive', archive)).code).toBe(0)
})
afterAll(async () => {
  await pg?.cleanup()
  await work?.cleanup()
})

it('imports into PostgreSQL: same manifest, same answers, provenance in the history', async () => {
  const res = await runCli(['import', archive, '--store', pg.locator, '--json'])
  expect(res.code, res.stderr).toBe(0)
  expect(parseJson<{model: string; version: number}>(res.stdout)).toMatchObject({model: 'spirals', version: 1})
  const versions = async (args: string[]) =>
    parseJson<{versions: {version: number; manifestSha256: string}[]}>(
      (await runCli(['list', '--json', ...args])).stdout,
    ).versions
  const [original] = await versions(['--home', work.path])
  const [copy] = await versions(['--store', pg.locator])
  expect(copy!.manifestSha256).toBe(original!.manifestSha256)

  const rows = syntheticRows(40)
  const a = await predictRegistry(work.path, {model: 'spirals', version: 1}, rows)
  const predicted = await runCli(['predict', '--version', '1', '--store', pg.locator, '--json'], {
    input: JSON.stringify(rows),
  })
  expect(predicted.code, predicted.stderr).toBe(0)
  const b = parseJson<{probabilities: number[][]; predictions: number[]}>(predicted.stdout)
  expect(maxDiff(a.probabilities, b.probabilities)).toBe(0)
  expect(b.predictions).toEqual(a.predictions)

  const history = parseJson<{entries: {reason: string; source?: {archive: string}}[]}>(
    (await runCli(['history', '--json', '--store', pg.locator])).stdout,
  ).entries
  expect(history[0]!.source).toMatchObject({archive: 'spirals-v1.tgz', model: 'spirals', version: 1})
})

it('refuses a damaged archive without writing to the database', async () => {
  const bad = join(work.path, 'flipped.tgz')
  await flipByte(archive, bad)
  const before = (await runCli(['history', '--json', '--store', pg.locator])).stdout
  const res = await runCli(['import', bad, '--model', 'other', '--store', pg.locator, '--json'])
  expect(res.code).toBe(7)
  expect((await runCli(['history', '--json', '--store', pg.locator])).stdout).toBe(before)
  expect((await runCli(['list', '--model', 'other', '--store', pg.locator, '--json'])).code).toBe(4)
})
