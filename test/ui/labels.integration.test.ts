import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import type {Page} from 'playwright-core'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parseJson, runCli, tempDir} from '../helpers/cli.js'
import {LABELS, PETS_TRAINING, petsCsv} from '../helpers/pets.js'
import {browseServer, SHOTS} from './helpers/browser.js'

/**
 * The page of a model trained on a CSV file with a header and text labels, in a real Chromium
 * against `morpho serve` of the built CLI: the decision boundary's axes are the header's first
 * two names, its legend and the prediction form speak the labels, and a header cell that is
 * markup stays text.
 */

// A header cell a careless page would run as a script.
const HOSTILE = '<img src=x onerror="window.injected=1">'

let home: {path: string; cleanup: () => Promise<void>}
let server: Awaited<ReturnType<typeof browseServer>>
let url: string
let page: Page
let runId: string

beforeAll(async () => {
  home = await tempDir('morpho-ui-labels-')
  const csv = join(home.path, 'pets.csv')
  await writeFile(csv, petsCsv(`${HOSTILE},height,species`))
  const res = await runCli(['train', '--data', csv, ...PETS_TRAINING, '--json', '--home', home.path])
  expect(res.code, res.stderr).toBe(0)
  runId = parseJson<{run: {runId: string}}>(res.stdout).run.runId
  const promoted = await runCli(['promote', 'Production', '--version', '1', '--model', 'pets', '--home', home.path])
  expect(promoted.code, promoted.stderr).toBe(0)
  server = await browseServer(['serve', '--port', '0', '--home', home.path], /listening on (http:\/\/[^\s,]+)/)
  ;({url, page} = server)
}, 60_000)

afterAll(async () => {
  await server?.close()
  await home?.cleanup()
})

const boundaryText = () => page.locator('canvas.boundary').getAttribute('aria-label')
const legend = () => page.locator('.boundary-figure .legend li').allTextContents()

describe('a model with feature names and text labels, on the page', () => {
  it('the served model’s boundary is drawn over its first two features, by name, with the labels in the legend', async () => {
    await page.goto(`${url}#/model`)
    await page.locator('canvas.boundary').waitFor()
    expect(await boundaryText()).toMatch(
      /^Decision boundary over <img src=x onerror="window\.injected=1"> \(.+\) and height \(.+\): area by predicted class: class cat \d+ %, class dog \d+ %, class owl \d+ %\./,
    )
    // The served model's run's validation points are drawn too.
    expect(await legend()).toEqual([...LABELS.map((label) => `class ${label}`), '×predicted wrong'])
    await page.locator('.boundary-figure').screenshot({path: join(SHOTS, 'model-labels.png')})
  })

  it('the prediction form is labelled by feature name and answers with a label', async () => {
    await page.getByLabel(HOSTILE, {exact: true}).fill('4')
    await page.getByLabel('height', {exact: true}).fill('1')
    await page.getByRole('button', {name: 'Predict'}).click()
    await expect.poll(() => page.locator('#predicted-class').textContent()).toBe('dog')
    expect(await page.locator('#predict-result tbody th').allTextContents()).toEqual(LABELS)
  })

  it('the run’s page names its axes the same way', async () => {
    await page.goto(`${url}#/runs/${runId}`)
    await page.locator('canvas.boundary').waitFor()
    expect(await boundaryText()).toMatch(
      /^Decision boundary over <img src=x onerror="window\.injected=1"> \(.+\) and height \(/,
    )
    // The run's validation rows are read again from its CSV file and drawn on top.
    expect(await legend()).toEqual([...LABELS.map((label) => `class ${label}`), '×predicted wrong'])
  })

  it('showed the header cell as text: no element was made of it, nothing ran, nothing was logged', async () => {
    expect(await page.evaluate(() => (window as unknown as {injected?: number}).injected)).toBeUndefined()
    expect(await page.locator('img[src="x"]').count()).toBe(0)
    expect(server.browser.problems).toEqual([])
    expect(server.browser.foreign).toEqual([])
  })
})
