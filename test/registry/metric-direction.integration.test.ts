import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parseJson, runCli, tempDir} from '../helpers/cli.js'
import {makeRun} from '../helpers/runs.js'

/**
 * One rule for which way a metric is better, as `best` and `promote` apply it, and stage names
 * in any case wherever a stage is taken (built CLI).
 */
describe('metric direction', () => {
  let tmp: {path: string; cleanup: () => Promise<void>}
  let home: string
  const morpho = (...args: string[]) => runCli([...args, '--home', home, '--json'])

  beforeAll(async () => {
    tmp = await tempDir('morpho-direction-')
    home = join(tmp.path, 'store')
    // v1 has the lowest val_loss, v2 the highest val_acc, v3 the deepest dip.
    const runs = [
      {valAcc: 0.8, valLoss: 0.0783, summary: {accuracy_dip: 0.01}},
      {valAcc: 0.95, valLoss: 0.4554, summary: {accuracy_dip: 0.02}},
      {valAcc: 0.9, valLoss: 0.3, summary: {accuracy_dip: 0.2}},
    ]
    for (const r of runs) {
      const run = await makeRun(home, r)
      expect((await morpho('register', run.id)).code).toBe(0)
    }
  })
  afterAll(() => tmp.cleanup())

  const best = async (...args: string[]) =>
    parseJson<{version: number; value: number; lowerIsBetter: boolean}>((await morpho('best', ...args)).stdout)

  it('ranks a loss lowest first and an accuracy highest first, without being told', async () => {
    expect(await best('--metric', 'val_loss')).toMatchObject({version: 1, value: 0.0783, lowerIsBetter: true})
    expect(await best('--metric', 'best_val_loss')).toMatchObject({version: 1, lowerIsBetter: true})
    expect(await best('--metric', 'accuracy_dip')).toMatchObject({version: 1, value: 0.01, lowerIsBetter: true})
    expect(await best()).toMatchObject({version: 2, value: 0.95, lowerIsBetter: false})
    // Told otherwise, either way.
    expect(await best('--metric', 'val_loss', '--no-lower-is-better')).toMatchObject({version: 2, lowerIsBetter: false})
    expect(await best('--metric', 'val_acc', '--lower-is-better')).toMatchObject({version: 1, lowerIsBetter: true})
    const human = await runCli(['best', '--metric', 'val_loss', '--home', home])
    expect(human.stdout).toMatch(/^best spirals v1: val_loss 0\.0783 \(lowest\)\n/)
  })

  it('promotes the best val_acc when no version is named', async () => {
    const promoted = parseJson<{version: number}>((await morpho('promote', 'Staging')).stdout)
    expect(promoted.version).toBe(2)
  })

  it('takes stage names in any case: list, best, predict', async () => {
    expect((await morpho('promote', 'PRODUCTION', '--version', '3')).code).toBe(0)
    const listed = await morpho('list', '--stage', 'production')
    expect(listed.code).toBe(0)
    expect(parseJson<{versions: {version: number}[]}>(listed.stdout).versions.map((v) => v.version)).toEqual([3])
    expect(await best('--stage', 'STAGING')).toMatchObject({version: 2})
    const predicted = await morpho('predict', '--stage', 'production', '--data', '[[0.5, -0.2]]')
    expect(predicted.code, predicted.stderr).toBe(0)
    expect(parseJson(predicted.stdout)).toMatchObject({model: 'spirals', version: 3, stage: 'Production'})
    const staging = await morpho('predict', '--stage', 'staging', '--data', '[[0.5, -0.2]]')
    expect(parseJson(staging.stdout)).toMatchObject({version: 2, stage: 'Staging'})
    // A stage predict cannot use is still refused, with the choices.
    const archived = await morpho('predict', '--stage', 'archived', '--data', '[[0.5, -0.2]]')
    expect(archived.code).toBe(2)
    expect(parseJson<{error: {message: string; hint: string}}>(archived.stdout).error).toMatchObject({
      message: 'Unknown stage "archived"',
      hint: 'Use one of: Production, Staging.',
    })
  })
})
