import {readdir, readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {COMMANDS} from '../../commands/index.js'
import {API_SHAPES, COMMAND_SHAPES} from '../../src/contract/catalog.js'
import {
  arr,
  check,
  describeShape,
  formatShape,
  int,
  nul,
  nullable,
  obj,
  objAnd,
  oneOf,
  opt,
  str,
} from '../../src/contract/shape.js'
import {ROOT} from '../helpers/cli.js'

describe('the JSON shape catalog', () => {
  it('has the shape of every command, and only of commands that exist', () => {
    const commands = Object.keys(COMMANDS)
      .map((id) => id.split(':').join(' '))
      .sort()
    expect(COMMAND_SHAPES.map((e) => e.name).sort()).toEqual(commands)
  })

  it('has every shape checked against real output by some test (expectShape)', async () => {
    const files = (await readdir(join(ROOT, 'test'), {recursive: true})).filter((f) => f.endsWith('.test.ts'))
    const text = (await Promise.all(files.map((f) => readFile(join(ROOT, 'test', f), 'utf8')))).join('\n')
    const checked = new Set([...text.matchAll(/expectShape\(\s*'([^']+)'/g)].map((m) => m[1]))
    const unchecked = [...COMMAND_SHAPES, ...API_SHAPES].map((e) => e.name).filter((n) => !checked.has(n))
    expect(unchecked).toEqual([])
  })

  it('is what the README says, generated (npm run readme)', async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8')
    for (const e of [...COMMAND_SHAPES, ...API_SHAPES]) {
      expect(readme, e.name).toContain(formatShape(e.shape, 98, '  '))
    }
  })

  it('checks exact keys, types and values, and says where a value differs', () => {
    const shape = obj({runId: str, version: int, stage: oneOf('None', 'Staging'), note: opt(str), at: nullable(str)})
    expect(check(shape, {runId: 'r', version: 3, stage: 'None', at: null})).toEqual([])
    expect(check(shape, {run_id: 'r', version: '3', stage: 'none', at: null, extra: 1})).toEqual([
      '$: missing key "runId"',
      '$.version: expected an integer, got "3"',
      '$.stage: expected one of "None", "Staging", got "none"',
      '$: unexpected key "run_id"',
      '$: unexpected key "extra"',
    ])
    expect(check(arr(int), [1, 2.5])).toEqual(['$[1]: expected an integer, got 2.5'])
    expect(check(nul, undefined)).toEqual(['$: expected null, got nothing'])
    // Metric names are data: any key, with a number.
    const metrics = objAnd({epochs: int}, {kind: 'number'})
    expect(check(metrics, {epochs: 3, val_acc: 0.9, test_loss: 0.2})).toEqual([])
    expect(check(metrics, {epochs: 3, val_acc: 'high'})).toEqual(['$.val_acc: expected a number, got "high"'])
    expect(describeShape(shape)).toBe(
      '{runId: string, version: integer, stage: "None" | "Staging", note?: string, at: string | null}',
    )
  })
})
