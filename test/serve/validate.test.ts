import {describe, expect, it} from 'vitest'
import {toHttpError} from '../../src/net/http-error.js'
import {crossover} from '../../src/serve/forward.js'
import {parseRowsText} from '../../src/serve/predict.js'
import {checkContentType, parseJson, readInferRequest, readPredictRequest, toRows} from '../../src/serve/validate.js'

const limits = {inputDim: 3, maxRows: 4, model: 'spirals v3'}

/** What the server answers for what `fn` throws: the status, code and message of its error body. */
function refusal(fn: () => unknown): {status: number; code: string; message: string} {
  try {
    fn()
  } catch (err) {
    const e = toHttpError(err)
    if (e.code === 'INTERNAL') throw err
    return {status: e.status, code: e.code, message: e.message}
  }
  throw new Error('expected a refusal')
}

describe('request validation', () => {
  it('reads rows into one float32 buffer, row-major', () => {
    const {rows, n} = toRows(
      [
        [1, 2, 3],
        [4.5, -6, 0],
      ],
      'data',
      limits,
    )
    expect(n).toBe(2)
    expect(Array.from(rows)).toEqual([1, 2, 3, 4.5, -6, 0])
  })

  it.each([
    [[[1, 2]], 'data[0] has 2 features; model spirals v3 takes 3'],
    [
      [
        [1, 2, 3],
        [1, 2],
      ],
      'rows differ in length: data[0] has 3 values, data[1] has 2 (every row needs 3)',
    ],
    [[[1, 'a', 3]], 'data[0][1] is "a" (a string), not a number'],
    [[[1, null, 3]], 'data[0][1] is null, not a number'],
    [[[1, 2, Number.POSITIVE_INFINITY]], 'data[0][2] is Infinity; every feature must be a finite number'],
    [[[1, 2, 1e39]], 'data[0][2] is 1e+39, outside the float32 range (±3.4e38)'],
    [[], '"data" is empty: send at least one row'],
    [
      [1, 2, 3],
      '"data" must be a list of rows, each a list of 3 numbers; got a list of numbers (one row is [[x1, x2, x3]])',
    ],
    ['rows', '"data" must be a list of rows, each a list of 3 numbers; got "rows" (a string)'],
    [[[1, 2, 3], 'x'], 'data[1] must be a list of 3 numbers; got "x" (a string)'],
  ])('refuses %j with a 400 naming the problem', (value, message) => {
    expect(refusal(() => toRows(value, 'data', limits))).toEqual({status: 400, code: 'INVALID_DATA', message})
  })

  it('refuses more rows than the limit with its own code', () => {
    const five = Array.from({length: 5}, () => [0, 0, 0])
    expect(refusal(() => toRows(five, 'data', limits))).toEqual({
      status: 400,
      code: 'TOO_MANY_ROWS',
      message: '5 rows is more than this server takes in one request (4); split the request',
    })
  })

  it('takes the rows from data, instances or inputs, and model_version as text', () => {
    expect(readPredictRequest({data: [[1]], model_version: 3})).toEqual({
      field: 'data',
      value: [[1]],
      modelVersion: '3',
    })
    expect(readPredictRequest({instances: [[1]], model_version: null})).toMatchObject({field: 'instances'})
    expect(readPredictRequest({inputs: [[1]]})).toMatchObject({field: 'inputs', modelVersion: undefined})
  })

  it.each([
    [{rows: [[1, 2, 3]]}, '"data" is missing: send {"data": [[feature, ...], ...]} (one list of features per row)'],
    [{data: [], inputs: []}, 'give the rows in one field, not in "data" and "inputs"'],
    [
      [[1, 2, 3]],
      'the body must be a JSON object like {"data": [[...], ...]}; got a list (wrap the rows: {"data": [[...], ...]})',
    ],
    [
      {data: [[1]], model_version: true},
      '"model_version" must be a version number or an alias, like "3"; got true (a boolean)',
    ],
  ])('refuses the body %j', (body, message) => {
    expect(refusal(() => readPredictRequest(body))).toMatchObject({status: 400, message})
  })

  it('says what is wrong with the JSON, and that NaN is not JSON', () => {
    expect(refusal(() => parseJson(Buffer.from('{"data": [[1, NaN, 2]]}')))).toEqual({
      status: 400,
      code: 'MALFORMED_JSON',
      message: 'malformed JSON: NaN and Infinity are not JSON numbers; send finite numbers',
    })
    expect(refusal(() => parseJson(Buffer.from('{"data": [[1, 2')))).toMatchObject({
      status: 400,
      code: 'MALFORMED_JSON',
    })
    expect(refusal(() => parseJson(Buffer.from('  ')))).toMatchObject({
      message: 'the body is empty; send a JSON object',
    })
  })

  it('takes JSON content types and refuses others with a 415', () => {
    for (const ok of [undefined, 'application/json', 'application/json; charset=utf-8', 'application/vnd.x+json']) {
      expect(() => checkContentType(ok)).not.toThrow()
    }
    expect(refusal(() => checkContentType('text/plain;charset=UTF-8'))).toEqual({
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
      message: 'content type "text/plain" is not JSON; send the body as application/json',
    })
  })

  it('reads an Open Inference Protocol tensor, flat or nested, and the outputs asked for', () => {
    const flat = readInferRequest(
      {id: 'r1', inputs: [{name: 'x', shape: [2, 3], datatype: 'FP32', data: [1, 2, 3, 4, 5, 6]}]},
      limits,
    )
    expect({n: flat.n, rows: Array.from(flat.rows), id: flat.id, outputs: flat.outputs}).toEqual({
      n: 2,
      rows: [1, 2, 3, 4, 5, 6],
      id: 'r1',
      outputs: ['probabilities', 'predictions'],
    })
    const nested = readInferRequest(
      {inputs: [{name: 'x', shape: [1, 3], datatype: 'INT32', data: [[1, 2, 3]]}], outputs: [{name: 'predictions'}]},
      limits,
    )
    expect(nested.outputs).toEqual(['predictions'])
    expect(
      refusal(() =>
        readInferRequest({inputs: [{name: 'x', shape: [2, 3], datatype: 'FP32', data: [1, 2, 3]}]}, limits),
      ),
    ).toMatchObject({status: 400, message: 'inputs[0].data has 3 values; shape [2, 3] needs 6'})
    expect(
      refusal(() => readInferRequest({inputs: [{name: 'x', shape: [1, 2], datatype: 'FP32', data: [1, 2]}]}, limits)),
    ).toMatchObject({message: 'inputs[0].shape says 2 features per row; model spirals v3 takes 3'})
    expect(
      refusal(() => readInferRequest({inputs: [{name: 'x', shape: [1, 3], datatype: 'BYTES', data: ['a']}]}, limits)),
    ).toMatchObject({message: 'inputs[0].datatype must be a numeric type such as "FP32"; got "BYTES" (a string)'})
  })

  it('reads rows for `morpho predict` from JSON, one bare row, an object, or CSV with a header', () => {
    expect(parseRowsText('[[1,2,3],[4,5,6]]', '--data')).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ])
    expect(parseRowsText('[1,2,3]', '--data')).toEqual([[1, 2, 3]])
    expect(parseRowsText('{"instances": [[1,2,3]]}', 'f.json')).toEqual([[1, 2, 3]])
    expect(parseRowsText('x,y,z\n# a comment\n1,2,3\n\n4,5,6\n', 'f.csv')).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ])
    expect(() => parseRowsText('1,2,3\n4,oops,6', 'f.csv')).toThrow(
      'f.csv line 2, column 2: "oops" is not a finite number',
    )
  })

  it('runs small batches in JavaScript up to where one TF.js call becomes cheaper', () => {
    // 20 µs a row in JavaScript; TF.js 150 µs a call plus ~4 µs a row: 9 rows cost 180 vs 182 µs.
    expect(crossover({jsRowUs: 20, tfOneUs: 150, tf64Us: 400})).toBe(9)
    expect(crossover({jsRowUs: 500, tfOneUs: 150, tf64Us: 900})).toBe(0)
    expect(crossover({jsRowUs: 1, tfOneUs: 150, tf64Us: 400})).toBe(64)
  })
})
