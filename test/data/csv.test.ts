import {createHash} from 'node:crypto'
import {mkdir} from 'node:fs/promises'
import {join, relative} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {MAX_CLASSES} from '../../src/data/csv.js'
import {loadCsv} from '../../src/data/index.js'
import {asyncErrorOf, tempFolder} from './helpers.js'

describe('loadCsv', () => {
  let dir: Awaited<ReturnType<typeof tempFolder>>
  beforeAll(async () => {
    dir = await tempFolder()
  })
  afterAll(() => dir.cleanup())

  describe('good files', () => {
    it('reads rows of features and a label, without a header', async () => {
      const text = '0.5,1.5,0\n-1,2e-1,1\n3,4,1\n'
      const file = await dir.write('plain.csv', text)
      const ds = await loadCsv(file)
      expect(ds.n).toBe(3)
      expect(ds.features).toBe(2)
      expect(ds.x).toBeInstanceOf(Float32Array)
      expect([...ds.x]).toEqual([0.5, 1.5, -1, Math.fround(0.2), 3, 4])
      expect(ds.y).toBeInstanceOf(Int32Array)
      expect([...ds.y]).toEqual([0, 1, 1])
      expect(ds.classes).toEqual([0, 1])
      expect(ds.header).toBeUndefined()
      expect(ds.path).toBe(file)
      expect(ds.sha256).toBe(createHash('sha256').update(text).digest('hex'))
      expect(ds.problem).toBe('csv')
    })

    it('detects a header, skips comments and blank lines, trims cells and accepts CRLF', async () => {
      const file = await dir.write(
        'header.csv',
        '# exported by hand\r\n\r\n x , "y" , label \r\n1, 2 ,0\r\n\r\n# a comment in the middle\r\n  3,4,  1\r\n\r\n',
      )
      const ds = await loadCsv(file)
      expect(ds.header).toEqual(['x', 'y', 'label'])
      expect(ds.n).toBe(2)
      expect([...ds.x]).toEqual([1, 2, 3, 4])
      expect([...ds.y]).toEqual([0, 1])
    })

    it('maps label values to class indices by sorted value and keeps the values', async () => {
      const file = await dir.write('labels.csv', '1,7\n2,3\n3,7\n4,-1\n')
      const ds = await loadCsv(file)
      expect(ds.classes).toEqual([-1, 3, 7])
      expect([...ds.y]).toEqual([2, 1, 2, 0])
    })

    it('accepts a label written as 1.0 (an integer value)', async () => {
      const file = await dir.write('float-labels.csv', '0.1,0.0\n0.2,1.0\n')
      expect([...(await loadCsv(file)).y]).toEqual([0, 1])
    })

    it('takes text labels: classes sorted by code unit whatever the row order, labels trimmed and unquoted', async () => {
      const file = await dir.write('text.csv', 'w,h,species\n1,2, owl\n3,4,"Dog"\n5,6,cat\n7,8,owl \n9,9,éclair\n')
      const ds = await loadCsv(file)
      expect(ds.classes).toEqual(['Dog', 'cat', 'owl', 'éclair'])
      expect([...ds.y]).toEqual([2, 0, 1, 2, 3])
      expect(ds.header).toEqual(['w', 'h', 'species'])
      // The same rows in another order give the same classes.
      const shuffled = await loadCsv(await dir.write('text-2.csv', '9,9,éclair\n5,6,cat\n3,4,Dog\n1,2,owl\n'))
      expect(shuffled.classes).toEqual(ds.classes)
    })

    it('reads a label column of integers and words as text, and 1 and 01 as one integer class', async () => {
      expect((await loadCsv(await dir.write('mixed.csv', '1,10\n2,2\n3,other\n'))).classes).toEqual([
        '10',
        '2',
        'other',
      ])
      const ints = await loadCsv(await dir.write('padded.csv', '1,01\n2,1\n3,2\n'))
      expect(ints.classes).toEqual([1, 2])
      expect([...ints.y]).toEqual([0, 0, 1])
    })

    it('resolves a relative path to an absolute one', async () => {
      const file = await dir.write('relative.csv', '1,0\n2,1\n')
      const ds = await loadCsv(relative(process.cwd(), file))
      expect(ds.path).toBe(file)
    })
  })

  describe('bad files: exit code 6, the file, the line and the value', () => {
    const expectInvalid = async (name: string, text: string, ...parts: string[]) => {
      const file = await dir.write(name, text)
      const err = await asyncErrorOf(() => loadCsv(file))
      expect(err.code).toBe('INVALID_DATA')
      expect(err.exitCode).toBe(6)
      expect(err.message).toContain(file)
      for (const part of parts) expect(err.message).toContain(part)
      expect(err.hint).toBeTruthy()
      return err
    }

    it('a missing file names the path', async () => {
      const file = join(dir.path, 'nope.csv')
      const err = await asyncErrorOf(() => loadCsv(file))
      expect(err.exitCode).toBe(6)
      expect(err.message).toBe(`Data file not found: ${file}`)
      expect(err.hint).toContain('--data')
    })

    it('a folder instead of a file', async () => {
      const folder = join(dir.path, 'folder.csv')
      await mkdir(folder)
      const err = await asyncErrorOf(() => loadCsv(folder))
      expect(err.exitCode).toBe(6)
      expect(err.message).toContain(folder)
    })

    it('an empty file, or one of only comments and blank lines', async () => {
      await expectInvalid('empty.csv', '', 'empty')
      await expectInvalid('comments.csv', '# nothing\n\n  \n# here\n', 'empty')
    })

    it('a ragged row', async () => {
      const err = await expectInvalid(
        'ragged.csv',
        'a,b,c,label\n1,2,3,0\n\n# note\n4,5,6,1\n\n7,8,0\n',
        'line 7 has 3 cells, expected 4 like line 1',
      )
      expect(err.details).toMatchObject({line: 7, cells: 3, expected: 4})
    })

    it('a non-numeric cell', async () => {
      const rows = ['x,y,label', ...Array.from({length: 10}, (_, i) => `${i},${i},${i % 2}`), '1,abc,0']
      await expectInvalid('text.csv', rows.join('\n'), 'line 12, column 2: "abc" is not a number')
    })

    it('an empty cell', async () => {
      await expectInvalid('blank-cell.csv', '1,2,0\n3,,1\n', 'line 2, column 2: "" is not a number')
    })

    it('a non-finite cell', async () => {
      await expectInvalid('nan.csv', '1,2,0\n\nNaN,4,1\n', 'line 3, column 1: "NaN" is not a finite number')
      await expectInvalid('inf.csv', '1,2,0\n3,-Infinity,1\n', 'line 2, column 2: "-Infinity" is not a finite number')
      await expectInvalid('huge.csv', '1,2,0\n3,1e39,1\n', 'line 2, column 2: "1e39" is not a finite number')
    })

    it('a non-numeric first row that is not a header because its features are numbers', async () => {
      await expectInvalid(
        'label-name.csv',
        '1,2,label\n3,4,1\n5,6,0\n',
        'line 1, column 3: label "label" is text while every other label is an integer; is line 1 a header?',
      )
    })

    it('a label that is not an integer', async () => {
      await expectInvalid('float-label.csv', '# c\n1,2,0\n3,4,0.5\n', 'line 3, column 3: label "0.5" is not an integer')
    })

    it('a label a terminal or a page could not show as it is: empty, a control character, too long', async () => {
      await expectInvalid('empty-label.csv', 'a,b,c\n1,2,cat\n3,4,\n', 'line 3, column 3: the label is empty')
      await expectInvalid(
        'bell.csv',
        '1,2,cat\n3,4,d\u0007og\n',
        'line 2, column 3: label "d\\x07og" holds a control character',
      )
      await expectInvalid('bidi.csv', '1,2,cat\n3,4,\u202edog\n', 'label "\\u202edog" holds a control character')
      await expectInvalid('long-label.csv', `1,2,cat\n3,4,${'é'.repeat(101)}\n`, 'is 101 characters long; at most 100')
      // 100 characters, counted as characters (not UTF-16 units), are a label.
      const ok = await loadCsv(await dir.write('long-ok.csv', `1,2,cat\n3,4,${'😀'.repeat(100)}\n`))
      expect(ok.classes).toHaveLength(2)
    })

    it('a header name with a control character', async () => {
      await expectInvalid(
        'header-control.csv',
        'w\u001b[2J,h,label\n1,2,0\n3,4,1\n',
        'line 1, column 1: column name "w\\x1b[2J"',
      )
    })

    it(`more than ${MAX_CLASSES} classes, naming the label that would be one too many`, async () => {
      const rows = Array.from({length: MAX_CLASSES + 2}, (_, i) => `${i},c${i}`)
      await expectInvalid(
        'many.csv',
        rows.join('\n'),
        `line ${MAX_CLASSES + 1}, column 2: label "c${MAX_CLASSES}" would be class ${MAX_CLASSES + 1}`,
      )
    })

    it('fewer than 2 data rows', async () => {
      await expectInvalid('one-row.csv', 'x,label\n1,0\n', '1 data row; at least 2')
      await expectInvalid('header-only.csv', 'x,y,label\n', '0 data rows; at least 2')
    })

    it('only one class', async () => {
      const err = await expectInvalid('one-class.csv', '1,2,1\n3,4,1\n5,6,1\n')
      expect(err.message).toMatch(/^only one class \(label 1\) in .*one-class\.csv; a classifier needs at least 2$/)
    })

    it('no feature column', async () => {
      await expectInvalid('label-only.csv', '# labels\n0\n1\n', 'line 2 has 1 cell', 'feature')
    })
  })
})
