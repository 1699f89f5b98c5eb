import {readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import type {Page} from 'playwright-core'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {runCli, tempDir} from '../helpers/cli.js'
import {makeRun} from '../helpers/runs.js'
import {browseServer} from './helpers/browser.js'

/**
 * The page's views where a new user stumbled, in a real Chromium against `morpho ui` of the
 * built CLI: a run that is not there, a registry of several models, the compare view's
 * parameter names, and the traffic chart's time axis.
 */

let home: {path: string; cleanup: () => Promise<void>}
let server: Awaited<ReturnType<typeof browseServer>>
let url: string
let page: Page
const runs: string[] = []

beforeAll(async () => {
  home = await tempDir('morpho-ui-views-')
  for (const [problem, seed] of [
    ['moons', 1],
    ['moons', 2],
    ['spirals', 3],
  ] as const) {
    runs.push((await makeRun(home.path, {problem, seed, id: `${problem}-2026112${seed}-120000-00000${seed}`})).id)
  }
  // The spirals run was trained wider and longer.
  const record = join(home.path, 'runs', runs[2]!, 'run.json')
  const run = JSON.parse(await readFile(record, 'utf8'))
  await writeFile(record, JSON.stringify({...run, params: {...run.params, hiddenDim: 16, warmUpEpochs: 5}}))
  for (const args of [
    ['register', runs[0]!],
    ['register', runs[1]!],
    ['register', runs[2]!],
    ['promote', 'Production', '--version', '2', '--model', 'moons'],
  ]) {
    const res = await runCli([...args, '--home', home.path])
    expect(res.code, res.stderr).toBe(0)
  }
  server = await browseServer(['ui', '--port', '0', '--home', home.path], /morpho ui: (http:\/\/\S+\/)/)
  ;({url, page} = server)
}, 60_000)

afterAll(async () => {
  await server?.close()
  await home?.cleanup()
})

describe('the page’s views', () => {
  it('lets the runs table show the metrics one chooses, a loss sorted best (lowest) first', async () => {
    await page.goto(`${url}#/runs`)
    const headers = page.locator('table.runs thead th')
    await page.locator('table.runs tbody tr').nth(2).waitFor()
    expect(await headers.allTextContents()).toEqual(
      expect.arrayContaining(['val_acc\u00a0↕', 'seeds_germinated\u00a0↕']),
    )
    await page.getByText('Metric columns').click()
    const choices = page.locator('.metric-columns input[type="checkbox"]')
    // Every number the runs' summaries hold can be a column, accuracy first.
    expect((await choices.evaluateAll((boxes) => boxes.map((b) => (b as HTMLInputElement).value)))[0]).toBe('val_acc')
    await page.getByRole('checkbox', {name: 'val_loss', exact: true}).check()
    await page.getByRole('checkbox', {name: 'seeds_germinated', exact: true}).uncheck()
    const names = (await headers.allTextContents()).map((t) => t.replace(/\u00a0.*$/, ''))
    expect(names.slice(1, 6)).toEqual(['Run', 'Problem', 'Status', 'val_acc', 'val_loss'])
    await page.getByRole('button', {name: /^val_loss/}).click()
    expect(await page.locator('th[aria-sort]').getAttribute('aria-sort')).toBe('ascending')
    // The fixtures' runs all have the same losses but one: ties keep their id order.
    const column = names.indexOf('val_loss')
    const losses = await page
      .locator('table.runs tbody tr')
      .evaluateAll((rows, i) => rows.map((r) => Number(r.children[i]!.textContent)), column)
    expect(losses).toEqual([...losses].sort((a, b) => a - b))
  })

  it('says which run is missing, without a loading line, and shows quoted commands as code', async () => {
    await page.goto(`${url}#/runs/moons-nope`)
    const alert = page.getByRole('alert')
    await alert.waitFor()
    expect(await page.locator('h1').textContent()).toBe('moons-nope')
    expect(await page.getByText('Loading run…').count()).toBe(0)
    const text = await alert.textContent()
    expect(text).toMatch(/^Could not load: run "moons-nope" not found/)
    expect(text).toMatch(/List the runs with morpho runs list\.$/)
    // A message that quotes a command in backticks shows it as code, never the backticks.
    const box = (await page.evaluate(`(async () => {
      const {errorBox} = await import('/assets/dom.js')
      const box = errorBox({message: 'No model is served by this process', hint: 'Start one with \`morpho serve\`.'})
      return {text: box.textContent, code: [...box.querySelectorAll('code')].map((c) => c.textContent)}
    })()`)) as {text: string; code: string[]}
    expect(box).toEqual({
      text: 'Could not load: No model is served by this processStart one with morpho serve.',
      code: ['morpho serve'],
    })
  })

  it('lists several models and shows one at a time, with its own history', async () => {
    await page.goto(`${url}#/registry`)
    const list = page.getByRole('navigation', {name: 'Models'})
    await list.waitFor()
    expect(await list.getByRole('link').allTextContents()).toEqual([
      'moons 2 versions · Production v2',
      'spirals 1 version',
    ])
    expect(await list.locator('[aria-current="page"]').textContent()).toMatch(/^moons/)
    expect(await page.locator('h2', {hasText: /^Model /}).allTextContents()).toEqual(['Model moons'])
    expect(await page.locator('table.history tbody tr').count()).toBe(3)

    await list.getByRole('link', {name: /^spirals/}).click()
    await page.locator('h2', {hasText: 'Model spirals'}).waitFor()
    expect(new URL(page.url()).hash).toBe('#/registry?model=spirals')
    expect(await page.locator('h2', {hasText: /^Model /}).allTextContents()).toEqual(['Model spirals'])
    expect(await page.locator('table.versions tbody tr').count()).toBe(1)
    expect(await page.locator('#history-title').textContent()).toBe('Transition history of spirals')
    expect(await page.locator('table.history tbody tr').count()).toBe(1)
  })

  it('names parameters as the CLI does, and the problem once', async () => {
    await page.goto(`${url}#/compare?ids=${runs[0]},${runs[2]}`)
    const headers = page.locator('table.data thead th')
    await headers.first().waitFor()
    const names = await headers.allTextContents()
    expect(names.filter((n) => n.toLowerCase() === 'problem')).toEqual(['Problem'])
    expect(names).toEqual(expect.arrayContaining(['hidden-dim', 'warm-up-epochs']))
    expect(names.every((n) => !/[a-z][A-Z]/.test(n))).toBe(true)

    await page.goto(`${url}#/runs/${runs[0]}`)
    await page.locator('#params-title').waitFor()
    const terms = await page.locator('dl.params dt').allTextContents()
    expect(terms).toEqual(expect.arrayContaining(['hidden-dim', 'num-layers', 'batch-size']))
    expect(terms.every((t) => !/[a-z][A-Z]/.test(t))).toBe(true)
  })

  it('draws live traffic over a minute, not years, with times written as on the rest of the page', async () => {
    await page.goto(`${url}#/runs`)
    // A string, so the test runner leaves its import() alone: the page loads its own module.
    const chart = (await page.evaluate(`(async () => {
      const {trafficChart} = await import('/assets/charts.js')
      const box = document.createElement('div')
      box.style.width = '640px'
      document.querySelector('main').append(box)
      const now = Math.floor(Date.now() / 1000)
      // One point: what the chart shows after its second poll.
      const one = trafficChart(box, [[now], [2], [0], [1.5]])
      await new Promise((r) => requestAnimationFrame(r))
      return {min: one.chart.scales.x.min, max: one.chart.scales.x.max, now}
    })()`)) as {min: number; max: number; now: number}
    expect(chart.max).toBe(chart.now)
    expect(chart.max - chart.min).toBe(60)
    // The legend shows the time under the cursor the way every other time on the page reads.
    // The cursor is moved again on every try: on a busy machine the first move can land before
    // the chart has laid out, and uPlot only fills the legend on a move over the plot.
    const shown = page.locator('main .u-legend .u-series').first().locator('.u-value')
    await expect
      .poll(
        async () => {
          const box = await page.locator('main .u-over').boundingBox()
          await page.mouse.move(box!.x + box!.width - 2, box!.y + box!.height / 2)
          return shown.textContent()
        },
        {timeout: 10_000},
      )
      .toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/)
  })
})
