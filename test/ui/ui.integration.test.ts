import type {ChildProcess} from 'node:child_process'
import {mkdir} from 'node:fs/promises'
import {join} from 'node:path'
import type {BrowserContext, Page} from 'playwright-core'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {runCli, spawnCli, tempDir} from '../helpers/cli.js'
import {expectShape} from '../helpers/shapes.js'
import {
  BLUE,
  GREEN,
  inkOf,
  MARKER,
  openBrowser,
  SHOTS,
  trainTwoRuns,
  urlFrom,
  VERMILLION,
  WARM_UP_BAND,
  waitForInk,
} from './helpers/browser.js'

/**
 * The page in a real headless Chromium against the built CLI, over one store with two trained
 * runs and a registered model: first `morpho ui`, then `morpho serve` with the model loaded.
 * Screenshots of every view land in test-artifacts/ui/ for a person to look at.
 */

let home: {path: string; cleanup: () => Promise<void>}
let ids: string[]

beforeAll(async () => {
  home = await tempDir('morpho-ui-')
  await mkdir(SHOTS, {recursive: true})
  ids = await trainTwoRuns(home.path)
  for (const [stage, version] of [
    ['Production', '2'],
    ['Staging', '1'],
  ]) {
    const res = await runCli(['promote', stage!, '--version', version!, '--model', 'moons', '--home', home.path])
    expect(res.code, res.stderr).toBe(0)
  }
}, 60_000)

afterAll(() => home?.cleanup())

/** Starts a server of the built CLI and a browser on it; stops both after the describe block. */
function withServer(args: () => string[], printed: RegExp) {
  const s = {} as {url: string; page: Page; context: BrowserContext; browser: Awaited<ReturnType<typeof openBrowser>>}
  let child: ChildProcess
  beforeAll(async () => {
    child = spawnCli(args())
    s.url = (await urlFrom(child, printed)).replace(/\/?$/, '/')
    s.browser = await openBrowser(new URL(s.url).origin)
    s.page = s.browser.page
    s.context = s.browser.context
  }, 30_000)
  afterAll(async () => {
    await s.browser?.close()
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    }
  })
  return s
}

describe('the web page in Chromium, served by `morpho ui`', () => {
  const s = withServer(() => ['ui', '--port', '0', '--home', home.path], /morpho ui: (http:\/\/\S+\/)/)

  it('lists both runs, and sorts them from the keyboard', async () => {
    await s.page.goto(`${s.url}#/runs`)
    const rows = s.page.locator('table.runs tbody tr')
    await rows.nth(1).waitFor()
    expect(await rows.count()).toBe(2)
    const text = await s.page.locator('table.runs tbody').textContent()
    for (const id of ids) expect(text).toContain(id)
    expect(await s.page.locator('table.runs caption').textContent()).toMatch(/^2 of 2 runs/)

    const accs = await Promise.all(
      ids.map(async (id) => (await (await fetch(`${s.url}api/runs/${id}`)).json()).run.summary.val_acc as number),
    )
    await s.page.getByRole('button', {name: /^val_acc/}).focus()
    await s.page.keyboard.press('Enter')
    await expect.poll(() => s.page.locator('th[aria-sort]').textContent()).toMatch(/val_acc/)
    expect(await s.page.locator('th[aria-sort]').getAttribute('aria-sort')).toBe('descending')
    // Descending: the first row holds the highest val_acc (two equal ones may come in either order).
    const firstShown = (await rows.first().locator('th a').textContent()) ?? ''
    expect(ids).toContain(firstShown)
    expect(accs[ids.indexOf(firstShown)]).toBe(Math.max(...accs))
    await s.page.screenshot({path: join(SHOTS, 'runs.png'), fullPage: true})
  })

  it('draws a run’s curves with the warm-up band and germination markers, its seed timeline and boundary', async () => {
    await s.page.goto(`${s.url}#/runs`)
    await s.page.getByRole('link', {name: ids[0]}).click()
    await s.page.locator('h1', {hasText: ids[0]}).waitFor()
    const [trainLoss, valLoss, marker, band] = await waitForInk(s.page, '#chart-loss canvas', [
      BLUE,
      VERMILLION,
      MARKER,
      WARM_UP_BAND,
    ])
    expect(trainLoss).toBeGreaterThan(20)
    expect(valLoss).toBeGreaterThan(20)
    expect(marker).toBeGreaterThan(10)
    expect(band).toBeGreaterThan(500)
    const [acc] = await waitForInk(s.page, '#chart-acc canvas', [GREEN])
    expect(acc).toBeGreaterThan(20)
    await waitForInk(s.page, '#chart-alpha canvas', [BLUE, VERMILLION])
    expect(await s.page.locator('.strip').count()).toBe(2)
    expect(await s.page.locator('.seed-text').textContent()).toMatch(/dormant epochs 1–\d+, training/)
    // The text alternative of each chart is there for screen readers.
    expect(await s.page.locator('#chart-loss-desc').textContent()).toMatch(/^train_loss .* over 14 epochs/)
    // The header says which epoch was saved and how the saved model scored on the test set.
    const {run: record} = (await (await fetch(`${s.url}api/runs/${ids[0]}`)).json()) as {
      run: {summary: {selected_epoch: number; test_acc: number; test_loss: number}}
    }
    const term = (name: string) => s.page.locator('dl.summary div', {has: s.page.locator('dt', {hasText: name})})
    expect(await term('saved epoch').locator('dd').textContent()).toBe(String(record.summary.selected_epoch))
    expect(await term('test').locator('dd').textContent()).toMatch(
      new RegExp(
        `^acc ${record.summary.test_acc.toFixed(4)}, NLL ${record.summary.test_loss.toFixed(4)}, ECE 0\\.\\d{4} \\(240 rows\\)$`,
      ),
    )
    await s.page.getByText(`The saved model is epoch ${record.summary.selected_epoch}'s.`).waitFor()

    await s.page.locator('canvas.boundary').waitFor()
    const [class0, class1] = await waitForInk(s.page, 'canvas.boundary', [BLUE, VERMILLION], 10)
    expect(class0).toBeGreaterThan(10)
    expect(class1).toBeGreaterThan(10)
    expect(await s.page.locator('canvas.boundary').getAttribute('aria-label')).toMatch(/^Decision boundary over x1 \(/)
    // The legend works from the keyboard: Tab to an entry, then Space hides its series and Enter shows it.
    const valLossEntry = s.page.locator('#chart-loss').getByRole('button', {name: 'Show val_loss'})
    expect(await valLossEntry.getAttribute('aria-pressed')).toBe('true')
    await valLossEntry.focus()
    await s.page.keyboard.press('Space')
    expect(await valLossEntry.getAttribute('aria-pressed')).toBe('false')
    let [hiddenLoss, keptLoss] = await inkOf(s.page, '#chart-loss canvas', [VERMILLION, BLUE])
    for (let i = 0; i < 40 && hiddenLoss! >= 5; i++) {
      await new Promise((r) => setTimeout(r, 50))
      ;[hiddenLoss, keptLoss] = await inkOf(s.page, '#chart-loss canvas', [VERMILLION, BLUE])
    }
    expect(hiddenLoss).toBeLessThan(5)
    expect(keptLoss).toBeGreaterThan(20)
    await s.page.keyboard.press('Enter')
    expect(await valLossEntry.getAttribute('aria-pressed')).toBe('true')
    await waitForInk(s.page, '#chart-loss canvas', [VERMILLION])

    await s.page.getByText('Every epoch as a table').click()
    expect(await s.page.locator('details.epochs tbody tr').count()).toBe(14)
    await s.page.screenshot({path: join(SHOTS, 'run.png'), fullPage: true})
  })

  it('follows a dark system scheme: page, badges and the canvases’ ink', async () => {
    await s.page.emulateMedia({colorScheme: 'dark'})
    try {
      // A fresh render: the canvases take their colours when they draw.
      await s.page.goto(`${s.url}#/runs`)
      await s.page.goto(`${s.url}#/runs/${ids[0]}`)
      // The heading shows at once; the badges once the run has loaded.
      await s.page.locator('.badge.status-completed').waitFor()
      const colours = await s.page.evaluate(() => {
        const root = getComputedStyle(document.documentElement)
        const badge = document.querySelector('.badge.status-completed')
        return {
          background: root.backgroundColor,
          text: root.color,
          badge: badge ? getComputedStyle(badge).backgroundColor : null,
        }
      })
      expect(colours).toEqual({background: 'rgb(22, 25, 29)', text: 'rgb(228, 230, 232)', badge: 'rgb(21, 53, 31)'})
      // The warm-up band and the grid are drawn in the dark scheme's colours, the curves as always.
      const [band, grid] = await waitForInk(s.page, '#chart-loss canvas', ['#23282e', '#30363d', BLUE], 20)
      expect(band).toBeGreaterThan(500)
      expect(grid).toBeGreaterThan(20)
      expect((await inkOf(s.page, '#chart-loss canvas', [WARM_UP_BAND]))[0]).toBe(0)
      await s.page.locator('canvas.boundary').waitFor()
      const [plotBackground] = await waitForInk(s.page, 'canvas.boundary', ['#16191d'], 500)
      expect(plotBackground).toBeGreaterThan(500)
      await s.page.screenshot({path: join(SHOTS, 'run-dark.png'), fullPage: true})
    } finally {
      await s.page.emulateMedia({colorScheme: 'light'})
    }
  })

  it('shows each registered version with its stage, and the transition history', async () => {
    await s.page.goto(`${s.url}#/registry`)
    const rows = s.page.locator('table.versions tbody tr')
    await rows.nth(1).waitFor()
    const stages = await rows.evaluateAll((trs) =>
      trs.map((tr) => [tr.getAttribute('data-version'), tr.querySelector('td.stage')?.textContent]),
    )
    expect(stages).toEqual([
      ['2', 'Production'],
      ['1', 'Staging'],
    ])
    expect(await rows.first().getByRole('link').textContent()).toBe(ids[1])
    expect(await s.page.locator('table.history tbody tr').count()).toBe(4)
    await s.page.screenshot({path: join(SHOTS, 'registry.png'), fullPage: true})
  })

  it('overlays the curves of two selected runs', async () => {
    await s.page.goto(`${s.url}#/runs`)
    await s.page.locator('table.runs tbody tr').nth(1).waitFor()
    for (const id of ids) await s.page.getByRole('checkbox', {name: `Select run ${id} for comparison`}).check()
    await s.page.getByRole('link', {name: 'Compare selected (2)'}).click()
    await s.page.locator('h1', {hasText: 'Compare 2 runs'}).waitFor()
    expect(decodeURIComponent(new URL(s.page.url()).hash)).toBe(`#/compare?ids=${ids.join(',')}`)
    for (const key of ['val_loss', 'val_acc', 'train_loss']) {
      const [first, second] = await waitForInk(s.page, `#chart-compare-${key} canvas`, [BLUE, VERMILLION])
      expect(first, key).toBeGreaterThan(20)
      expect(second, key).toBeGreaterThan(20)
    }
    expect(await s.page.locator('.panel table.data tbody tr').count()).toBe(2)
    await s.page.screenshot({path: join(SHOTS, 'compare.png'), fullPage: true})
  })

  it('follows a run that is still training, then shows it completed, without a reload', async () => {
    const train = spawnCli([
      'train',
      '--problem',
      'moons',
      // Long enough (seconds, even on an idle machine with the fast training step) for the
      // page's 3-second poll to see it running, then see more epochs, then see it end.
      '--warm-up-epochs',
      '400',
      '--adaptation-epochs',
      '3',
      '--no-register',
      '--quiet',
      '--home',
      home.path,
    ])
    const exited = new Promise<number | null>((resolve) => train.once('exit', resolve))
    try {
      let id: string | undefined
      for (let i = 0; i < 200 && id === undefined; i++) {
        const {runs} = (await (await fetch(`${s.url}api/runs`)).json()) as {runs: {runId: string; status: string}[]}
        id = runs.find((r) => r.status === 'running')?.runId
        if (id === undefined) await new Promise((r) => setTimeout(r, 50))
      }
      expect(id, 'a running run in /api/runs').toBeDefined()
      await s.page.goto(`${s.url}#/runs/${id}`)
      await s.page.getByText('still training: this page follows it').waitFor()
      const epochsShown = async () => {
        const text = (await s.page.locator('#chart-loss-desc').textContent()) ?? ''
        return Number(/over (\d+) epochs/.exec(text)?.[1] ?? 0)
      }
      const first = await epochsShown()
      // The page polls every 3 s: more epochs appear, then the end of the run.
      await s.page.waitForFunction(
        (n) => Number(/over (\d+) epochs/.exec(document.querySelector('#chart-loss-desc')?.textContent ?? '')?.[1]) > n,
        first,
        {timeout: 20_000},
      )
      expect(await exited).toBe(0)
      await s.page.locator('.badge.status-completed').waitFor({timeout: 10_000})
      expect(await s.page.getByText('still training: this page follows it').count()).toBe(0)
      // Every epoch the run recorded (phase 2 is skipped once the network fits its data).
      const {run: record} = (await (await fetch(`${s.url}api/runs/${id}`)).json()) as {run: {summary: {epochs: number}}}
      expect(await epochsShown()).toBe(record.summary.epochs)
      expect(record.summary.epochs).toBeGreaterThan(first)
      await s.page.locator('canvas.boundary').waitFor()
    } finally {
      if (train.exitCode === null) train.kill('SIGKILL')
    }
  })

  it('stops on Ctrl-C with exit 0, and with --json prints only where it served', async () => {
    const child = spawnCli(['ui', '--port', '0', '--json', '--home', home.path])
    let stdout = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    const url = await urlFrom(child, /morpho ui: (http:\/\/\S+\/)/)
    expect((await fetch(`${url}api/info`)).status).toBe(200)
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
    child.kill('SIGINT')
    expect(await exited).toBe(0)
    expectShape('ui', JSON.parse(stdout))
    expect(JSON.parse(stdout)).toEqual({url, store: home.path, stoppedBy: 'SIGINT'})
  })

  it('says plainly that `morpho ui` serves no model', async () => {
    await s.page.goto(`${s.url}#/model`)
    await s.page.getByText('No model is served by this process').waitFor()
    await s.page.screenshot({path: join(SHOTS, 'model-none.png')})
  })

  it('loaded nothing from anywhere but the morpho process, and logged no errors', () => {
    expect(s.browser.foreign).toEqual([])
    expect(s.browser.problems).toEqual([])
    expect(s.context.pages()).toHaveLength(1)
  })
})

describe('the web page in Chromium, served by `morpho serve` with the Production model loaded', () => {
  const s = withServer(
    () => ['serve', '--port', '0', '--home', home.path, '--model', 'moons'],
    /listening on (http:\/\/[^\s,]+)/,
  )
  const predict = async (data: number[][]) => {
    const res = await fetch(`${s.url}predict`, {
      method: 'POST',
      headers: {'Content-Type': 'application/json'},
      body: JSON.stringify({data}),
    })
    return {status: res.status, body: (await res.json()) as {predictions: number[]; probabilities: number[][]}}
  }

  it('opens on the served model: name, version, stage, since when, and its run', async () => {
    await s.page.goto(s.url)
    await s.page.waitForURL(/#\/model$/)
    const summary = s.page.locator('dl.summary')
    await summary.getByText('moons', {exact: true}).waitFor()
    expect(await summary.textContent()).toMatch(/versionv2stageProductionloaded since\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/)
    expect(await summary.getByRole('link').textContent()).toBe(ids[1])
  })

  it('answers the prediction form exactly as POST /predict does', async () => {
    const row = [0.25, -0.3, 0.1]
    for (const [i, v] of row.entries()) await s.page.getByLabel(`x${i + 1}`, {exact: true}).fill(String(v))
    await s.page.getByRole('button', {name: 'Predict'}).click()
    const answer = s.page.locator('#predict-result')
    await answer.locator('#predicted-class').waitFor()
    const shown = Number(await answer.locator('#predicted-class').textContent())
    const probs = (
      await answer.locator('td[data-prob]').evaluateAll((tds) => tds.map((td) => td.getAttribute('data-prob')))
    ).map(Number)
    const direct = await predict([row])
    expect(direct.status).toBe(200)
    expect(shown).toBe(direct.body.predictions[0])
    expect(probs).toEqual(direct.body.probabilities[0])
    expect(await answer.getAttribute('aria-live')).toBe('polite')
  })

  it('draws the decision boundary over the validation points, and a click there predicts that point', async () => {
    const canvas = s.page.locator('canvas.boundary')
    await canvas.waitFor()
    const [class0, class1] = await waitForInk(s.page, 'canvas.boundary', [BLUE, VERMILLION], 10)
    expect(class0).toBeGreaterThan(10)
    expect(class1).toBeGreaterThan(10)
    expect(await s.page.locator('.boundary-figure figcaption').textContent()).toMatch(/\d+ validation points; \d/)
    const before = await s.page.getByLabel('x1', {exact: true}).inputValue()
    await canvas.click({position: {x: 120, y: 120}})
    await expect.poll(() => s.page.getByLabel('x1', {exact: true}).inputValue()).not.toBe(before)
    await s.page.locator('#predicted-class').waitFor()
  })

  it('shows the live request rate, errors and latency from the server’s own metrics', async () => {
    for (let i = 0; i < 20; i++) expect((await predict([[0.1, 0.2, 0.3]])).status).toBe(200)
    expect((await predict([[0.1, 0.2]])).status).toBe(400)
    // Three more came before: the form, the direct request it was checked against, the click.
    // The page's own polling (every 3 s, for this very tile) is not counted.
    const total = s.page.locator('.tile', {hasText: 'Requests since start'})
    await expect.poll(() => total.locator('.tile-value').textContent(), {timeout: 10_000}).toBe('24')
    expect(await total.locator('.tile-note').textContent()).toBe('0 errors, 1 refused (4xx)')
    await waitForInk(s.page, '#chart-traffic canvas', [BLUE], 5)
    await s.page.screenshot({path: join(SHOTS, 'model.png'), fullPage: true})
  })

  it('loaded nothing from anywhere but the morpho process, and logged no errors', () => {
    expect(s.browser.foreign).toEqual([])
    expect(s.browser.problems).toEqual([])
  })
})

describe('the web page of a `morpho serve` still waiting for its model', () => {
  const s = withServer(
    () => ['serve', '--port', '0', '--home', home.path, '--version', 'champion', '--watch', '--watch-interval', '1'],
    /listening on (http:\/\/[^\s,]+)/,
  )

  it('says so, then shows the model as soon as the registry names it', async () => {
    await s.page.goto(`${s.url}#/model`)
    await s.page.getByText('This server has no model loaded yet').waitFor()
    const alias = await runCli(['alias', 'set', 'champion', '1', '--model', 'moons', '--home', home.path])
    expect(alias.code, alias.stderr).toBe(0)
    const summary = s.page.locator('dl.summary')
    await summary.waitFor({timeout: 15_000})
    expect(await summary.textContent()).toMatch(/^modelmoonsversionv1stageStaging/)
    expect(s.browser.problems).toEqual([])
  })
})
