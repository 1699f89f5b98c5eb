import type {ChildProcess} from 'node:child_process'
import {mkdir} from 'node:fs/promises'
import {join} from 'node:path'
import type {BrowserContext, Page} from 'playwright-core'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {runCli, spawnCli, tempDir} from '../helpers/cli.js'
import {
  BLUE,
  GREEN,
  MARKER,
  openBrowser,
  SHOTS,
  trainTwoRuns,
  urlFrom,
  VERMILLION,
  WARM_UP_BAND,
  waitForInk,
} from './browser.js'

/**
 * The page in a real headless Chromium against the built CLI: `morpho ui` over a store with
 * two trained runs and a registered model. Screenshots of every view land in
 * test-artifacts/ui/ for a person to look at.
 */

describe('the web page in Chromium, served by `morpho ui`', () => {
  let home: {path: string; cleanup: () => Promise<void>}
  let ids: string[]
  let ui: ChildProcess
  let url: string
  let browser: Awaited<ReturnType<typeof openBrowser>>
  let page: Page
  let context: BrowserContext

  beforeAll(async () => {
    home = await tempDir('morpho-ui-e2e-')
    await mkdir(SHOTS, {recursive: true})
    ids = await trainTwoRuns(home.path)
    for (const [stage, version] of [
      ['Production', '2'],
      ['Staging', '1'],
    ]) {
      const res = await runCli(['promote', stage!, '--version', version!, '--model', 'moons', '--home', home.path])
      expect(res.code, res.stderr).toBe(0)
    }
    ui = spawnCli(['ui', '--port', '0', '--home', home.path])
    url = await urlFrom(ui, /morpho ui: (http:\/\/\S+\/)/)
    browser = await openBrowser(new URL(url).origin)
    page = browser.page
    context = browser.context
  }, 90_000)

  afterAll(async () => {
    await browser?.close()
    if (ui && ui.exitCode === null) {
      const exited = new Promise((resolve) => ui.once('exit', resolve))
      ui.kill('SIGTERM')
      await exited
    }
    await home?.cleanup()
  })

  it('lists both runs, and sorts them from the keyboard', async () => {
    await page.goto(`${url}#/runs`)
    const rows = page.locator('table.runs tbody tr')
    await rows.nth(1).waitFor()
    expect(await rows.count()).toBe(2)
    const text = await page.locator('table.runs tbody').textContent()
    for (const id of ids) expect(text).toContain(id)
    expect(await page.locator('table.runs caption').textContent()).toMatch(/^2 of 2 runs/)

    const accs = await Promise.all(
      ids.map(async (id) => (await (await fetch(`${url}api/runs/${id}`)).json()).record.summary.val_acc as number),
    )
    await page.getByRole('button', {name: /^val_acc/}).focus()
    await page.keyboard.press('Enter')
    await expect.poll(() => page.locator('th[aria-sort]').textContent()).toMatch(/val_acc/)
    expect(await page.locator('th[aria-sort]').getAttribute('aria-sort')).toBe('descending')
    const firstShown = await rows.first().locator('th a').textContent()
    expect(firstShown).toBe(accs[0]! >= accs[1]! ? ids[0] : ids[1])
    await page.screenshot({path: join(SHOTS, 'runs.png'), fullPage: true})
  })

  it('draws a run’s curves with the warm-up band and germination markers, its seed timeline and boundary', async () => {
    await page.goto(`${url}#/runs`)
    await page.getByRole('link', {name: ids[0]}).click()
    await page.locator('h1', {hasText: ids[0]}).waitFor()
    const [trainLoss, valLoss, marker, band] = await waitForInk(page, '#chart-loss canvas', [
      BLUE,
      VERMILLION,
      MARKER,
      WARM_UP_BAND,
    ])
    expect(trainLoss).toBeGreaterThan(20)
    expect(valLoss).toBeGreaterThan(20)
    expect(marker).toBeGreaterThan(10)
    expect(band).toBeGreaterThan(500)
    const [acc] = await waitForInk(page, '#chart-acc canvas', [GREEN])
    expect(acc).toBeGreaterThan(20)
    await waitForInk(page, '#chart-alpha canvas', [BLUE, VERMILLION])
    expect(await page.locator('.strip').count()).toBe(2)
    expect(await page.locator('.seed-text').textContent()).toMatch(/dormant epochs 1–\d+, training/)
    // The text alternative of each chart is there for screen readers.
    expect(await page.locator('#chart-loss-desc').textContent()).toMatch(/^train_loss .* over 14 epochs/)

    await page.locator('canvas.boundary').waitFor()
    const [class0, class1] = await waitForInk(page, 'canvas.boundary', [BLUE, VERMILLION], 10)
    expect(class0).toBeGreaterThan(10)
    expect(class1).toBeGreaterThan(10)
    expect(await page.locator('canvas.boundary').getAttribute('aria-label')).toMatch(
      /^Decision boundary over feature 1/,
    )
    await page.getByText('Every epoch as a table').click()
    expect(await page.locator('details.epochs tbody tr').count()).toBe(14)
    await page.screenshot({path: join(SHOTS, 'run.png'), fullPage: true})
  })

  it('shows each registered version with its stage, and the transition history', async () => {
    await page.goto(`${url}#/registry`)
    const rows = page.locator('table.versions tbody tr')
    await rows.nth(1).waitFor()
    const stages = await rows.evaluateAll((trs) =>
      trs.map((tr) => [tr.getAttribute('data-version'), tr.querySelector('td.stage')?.textContent]),
    )
    expect(stages).toEqual([
      ['2', 'Production'],
      ['1', 'Staging'],
    ])
    expect(await rows.first().getByRole('link').textContent()).toBe(ids[1])
    expect(await page.locator('table.history tbody tr').count()).toBe(4)
    await page.screenshot({path: join(SHOTS, 'registry.png'), fullPage: true})
  })

  it('overlays the curves of two selected runs', async () => {
    await page.goto(`${url}#/runs`)
    await page.locator('table.runs tbody tr').nth(1).waitFor()
    for (const id of ids) await page.getByRole('checkbox', {name: `Select run ${id} for comparison`}).check()
    await page.getByRole('link', {name: 'Compare selected (2)'}).click()
    await page.locator('h1', {hasText: 'Compare 2 runs'}).waitFor()
    expect(decodeURIComponent(new URL(page.url()).hash)).toBe(`#/compare?ids=${ids.join(',')}`)
    for (const key of ['val_loss', 'val_acc', 'train_loss']) {
      const [first, second] = await waitForInk(page, `#chart-compare-${key} canvas`, [BLUE, VERMILLION])
      expect(first, key).toBeGreaterThan(20)
      expect(second, key).toBeGreaterThan(20)
    }
    expect(await page.locator('.panel table.data tbody tr').count()).toBe(2)
    await page.screenshot({path: join(SHOTS, 'compare.png'), fullPage: true})
  })

  it('says plainly that `morpho ui` serves no model', async () => {
    await page.goto(`${url}#/model`)
    await page.getByText('No model is served by this process').waitFor()
    await page.screenshot({path: join(SHOTS, 'model-none.png')})
  })

  it('loaded nothing from anywhere but the morpho process, and logged no errors', () => {
    expect(browser.foreign).toEqual([])
    expect(browser.problems).toEqual([])
    expect(context.pages()).toHaveLength(1)
  })
})
