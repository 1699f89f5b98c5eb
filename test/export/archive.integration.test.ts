import {readdir, readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {ExportResult} from '../../src/export/export.js'
import {parseJson, runCli, tempDir} from '../helpers/cli.js'
import {expectShape} from '../helpers/shapes.js'
import {entriesOf, flipByte, packEntries, truncate} from './archive.js'
import {exportCli, maxDiff, predictRegistry, SEED_CASES, syntheticRows, syntheticVersion} from './support.js'

/**
 * `export --format archive` then `morpho import` into an empty store gives a byte-identical
 * version that answers the same; a damaged, truncated, tampered, hostile or newer archive is
 * refused with exit 7 and leaves the store exactly as it was.
 */

interface ImportResult {
  model: string
  version: number
  files: {path: string; size: number; sha256: string}[]
  source: {model: string; version: number; sha256: string; exportedAt: string}
  entry: {manifestSha256: string; runId: string; stage: string; dir: string}
}
interface Envelope {
  error: {code: string; exitCode: number; message: string}
}

let work: {path: string; cleanup: () => Promise<void>}
let source: string
let archive: string
let exported: ExportResult

beforeAll(async () => {
  work = await tempDir('morpho-archive-')
  source = join(work.path, 'source')
  await syntheticVersion(source, 'spirals', SEED_CASES['one live seed']!, 5)
  await syntheticVersion(source, 'spirals', SEED_CASES['two live seeds, one mid-blend']!, 6)
  expect((await runCli(['alias', 'set', 'champion', '2', '--home', source])).code).toBe(0)
  archive = join(work.path, 'spirals-v2.tgz')
  const res = await exportCli(source, 'spirals@champion', 'archive', archive)
  expect(res.code, res.stderr).toBe(0)
  exported = res.json!
  expectShape('export', exported)
})
afterAll(() => work?.cleanup())

async function tree(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>()
  for (const name of (await readdir(dir, {recursive: true, withFileTypes: true})).filter((e) => e.isFile())) {
    const full = join(name.parentPath, name.name)
    out.set(full.slice(dir.length + 1), await readFile(full))
  }
  return out
}

describe('an archive imported into an empty store', () => {
  let target: string
  let imported: ImportResult
  beforeAll(async () => {
    target = join(work.path, 'target')
    const res = await runCli(['import', archive, '--json', '--home', target])
    expect(res.code, res.stderr).toBe(0)
    imported = parseJson<ImportResult>(res.stdout)
    expectShape('import', imported)
  })

  it('is a byte-identical version, numbered in its new store', async () => {
    expect(imported).toMatchObject({
      model: 'spirals',
      version: 1,
      source: {model: 'spirals', version: 2, sha256: exported.files[0]!.sha256},
    })
    const before = await tree(join(source, 'models', 'spirals', '2'))
    const after = await tree(join(target, 'models', 'spirals', '1'))
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort())
    for (const [name, bytes] of before) expect(after.get(name)!.equals(bytes), name).toBe(true)
    const list = async (home: string) =>
      parseJson<{versions: {version: number; manifestSha256: string; runId: string; metrics: object}[]}>(
        (await runCli(['list', '--json', '--home', home])).stdout,
      ).versions
    const original = (await list(source)).find((v) => v.version === 2)!
    const copy = (await list(target)).find((v) => v.version === 1)!
    expect(copy).toMatchObject({
      manifestSha256: original.manifestSha256,
      runId: original.runId,
      metrics: original.metrics,
    })
    expect(imported.entry.stage).toBe('None')
  })

  it('answers as the original does', async () => {
    const rows = syntheticRows(60)
    const a = await predictRegistry(source, {model: 'spirals', version: 2}, rows)
    const b = await predictRegistry(target, {model: 'spirals', version: 1}, rows)
    expect(maxDiff(a.probabilities, b.probabilities)).toBe(0)
    expect(b.predictions).toEqual(a.predictions)
  })

  it('says where it came from in the history', async () => {
    const res = await runCli(['history', '--json', '--home', target])
    expect(res.code, res.stderr).toBe(0)
    const [entry] = parseJson<{entries: {action: string; version: number; reason: string; source?: unknown}[]}>(
      res.stdout,
    ).entries
    expect(entry).toMatchObject({action: 'register', version: 1})
    expect(entry!.reason).toContain('imported from spirals-v2.tgz')
    expect(entry!.reason).toContain('spirals v2')
    expect(entry!.source).toMatchObject({
      archive: 'spirals-v2.tgz',
      sha256: exported.files[0]!.sha256,
      model: 'spirals',
      version: 2,
    })
  })

  it('twice into the same model is a conflict (exit 5) that changes nothing', async () => {
    const before = await readFile(join(target, 'registry.json'))
    const res = await runCli(['import', archive, '--json', '--home', target])
    expect(res.code).toBe(5)
    expect(parseJson<Envelope>(res.stdout).error.message).toMatch(/^spirals v1 already holds this version/)
    expect((await readFile(join(target, 'registry.json'))).equals(before)).toBe(true)
    expect(await readdir(join(target, 'models', 'spirals'))).toEqual(['1'])
  })

  it('--model registers it under another name', async () => {
    const res = await runCli(['import', archive, '--model', 'spirals-prod', '--json', '--home', target])
    expect(res.code, res.stderr).toBe(0)
    expect(parseJson<ImportResult>(res.stdout)).toMatchObject({model: 'spirals-prod', version: 1})
  })
})

describe('a bad archive is refused and registers nothing', () => {
  const cases: [string, (file: string) => Promise<void>, RegExp][] = [
    ['a flipped byte', (file) => flipByte(archive, file), /does not gunzip|sha256 mismatch/],
    ['a truncated file', (file) => truncate(archive, file), /does not gunzip/],
    [
      'a tampered weights file',
      async (file) => {
        const entries = await entriesOf(archive)
        const weights = entries.get('version/weights.bin')!
        weights[7]! ^= 0x40
        await packEntries(file, join(work.path, 'tampered'), entries)
      },
      /version\/weights.bin sha256 mismatch/,
    ],
    [
      'a path-escaping entry name',
      async (file) => {
        const entries = await entriesOf(archive)
        entries.set('../../escaped.txt', Buffer.from('outside'))
        await packEntries(file, join(work.path, 'escaping'), entries)
      },
      /entry name "..\/..\/escaped.txt" is not a plain relative path/,
    ],
    [
      'a model name that climbs out of the store',
      async (file) => {
        const entries = await entriesOf(archive)
        const index = JSON.parse(entries.get('morpho-archive.json')!.toString())
        entries.set('morpho-archive.json', Buffer.from(JSON.stringify({...index, model: '../../evil'})))
        await packEntries(file, join(work.path, 'climbing'), entries)
      },
      /its model name "..\/..\/evil" is not a valid name/,
    ],
    [
      'a newer archive format',
      async (file) => {
        const entries = await entriesOf(archive)
        const index = JSON.parse(entries.get('morpho-archive.json')!.toString())
        entries.set('morpho-archive.json', Buffer.from(JSON.stringify({...index, formatVersion: 2})))
        await packEntries(file, join(work.path, 'newer'), entries)
      },
      /has archive format 2; this morpho reads up to 1/,
    ],
  ]
  it.each(cases)('%s: exit 7, nothing written', async (_name, make, message) => {
    const file = join(work.path, `bad-${_name.replace(/\W+/g, '-')}.tgz`)
    await make(file)
    const home = join(work.path, `empty-${_name.replace(/\W+/g, '-')}`)
    const res = await runCli(['import', file, '--json', '--home', home])
    expect(res.code).toBe(7)
    expect(parseJson<Envelope>(res.stdout).error.message).toMatch(message)
    // Nothing registered, nothing left behind: the store folder was never created.
    expect(await readdir(home).catch(() => 'absent')).toBe('absent')
    expect(await readdir(work.path)).not.toContain('escaped.txt')
  })

  it('a file that does not exist is not found (exit 4)', async () => {
    const res = await runCli(['import', join(work.path, 'none.tgz'), '--json', '--home', join(work.path, 'e2')])
    expect(res.code).toBe(4)
  })
})
