import type {ChildProcess} from 'node:child_process'
import {join} from 'node:path'
import {chromium, type Page} from 'playwright-core'
import {expect} from 'vitest'
import {parseJson, ROOT, runCli, spawnCli, tempDir} from '../../helpers/cli.js'
import {GROWING_FLAGS} from './growing.js'

/** A real headless Chromium for the page's end-to-end tests (Debian's chromium, driven by playwright-core). */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]
/** Screenshots of every view, for a person to look at. */
export const SHOTS = join(ROOT, 'test-artifacts', 'ui')

/** Chart colours the page uses (src/ui/assets/charts.js). */
export const BLUE = '#0072B2'
export const VERMILLION = '#D55E00'
export const GREEN = '#009E73'
export const MARKER = '#6f3d9e'
export const WARM_UP_BAND = '#f1f1f1'

/** Pixels of each colour on a canvas: proof that something was drawn, and what. */
export async function inkOf(page: Page, selector: string, colors: string[]): Promise<number[]> {
  return page.evaluate(
    ({selector, colors}) => {
      const canvas = document.querySelector(selector) as HTMLCanvasElement | null
      if (!canvas || canvas.width === 0) return colors.map(() => 0)
      const {data} = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height)
      const rgb = colors.map((c) => [1, 3, 5].map((i) => Number.parseInt(c.slice(i, i + 2), 16)))
      const counts = colors.map(() => 0)
      for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3]! < 200) continue
        for (let c = 0; c < rgb.length; c++) {
          const [r, g, b] = rgb[c]!
          if (Math.abs(data[i]! - r!) + Math.abs(data[i + 1]! - g!) + Math.abs(data[i + 2]! - b!) < 24) counts[c]!++
        }
      }
      return counts
    },
    {selector, colors},
  )
}

/** Waits until every colour has at least `min` pixels on the canvas (charts draw after layout). */
export async function waitForInk(page: Page, selector: string, colors: string[], min = 20): Promise<number[]> {
  await page.waitForFunction(
    ({selector, colors, min}) => {
      const canvas = document.querySelector(selector) as HTMLCanvasElement | null
      if (!canvas || canvas.width === 0) return false
      const {data} = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height)
      const rgb = colors.map((c) => [1, 3, 5].map((i) => Number.parseInt(c.slice(i, i + 2), 16)))
      const counts = colors.map(() => 0)
      for (let i = 0; i < data.length; i += 4) {
        for (let c = 0; c < rgb.length; c++) {
          const [r, g, b] = rgb[c]!
          if (Math.abs(data[i]! - r!) + Math.abs(data[i + 1]! - g!) + Math.abs(data[i + 2]! - b!) < 24) counts[c]!++
        }
      }
      return counts.every((n) => n >= min)
    },
    {selector, colors, min},
  )
  return inkOf(page, selector, colors)
}

/** A fresh Chromium profile whose every request to another origin is refused and recorded. */
export async function openBrowser(origin: string) {
  const profile = await tempDir('morpho-ui-chromium-')
  const context = await chromium.launchPersistentContext(profile.path, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: {width: 1280, height: 900},
  })
  const problems: string[] = []
  const foreign: string[] = []
  await context.route('**/*', (route) => {
    const url = route.request().url()
    if (new URL(url).origin === origin) return route.continue()
    foreign.push(url)
    return route.abort()
  })
  const page = context.pages()[0] ?? (await context.newPage())
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console: ${msg.text()}`)
  })
  return {
    context,
    page,
    problems,
    foreign,
    async close() {
      await context.close()
      await profile.cleanup()
    },
  }
}

/**
 * A server of the built CLI (`morpho ui` or `morpho serve`, by `args`) and a Chromium on its page,
 * once the server has printed its URL (`printed` captures it); `close()` ends both.
 */
export async function browseServer(args: string[], printed: RegExp) {
  const child = spawnCli(args)
  const url = (await urlFrom(child, printed)).replace(/\/?$/, '/')
  const browser = await openBrowser(new URL(url).origin)
  return {
    child,
    url,
    browser,
    page: browser.page,
    async close() {
      await browser.close()
      if (child.exitCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    },
  }
}

/** The first line a server prints with its URL. */
export function urlFrom(child: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = ''
    const onData = (chunk: Buffer) => {
      seen += chunk.toString()
      const m = pattern.exec(seen)
      if (m) {
        child.stderr?.off('data', onData)
        child.stdout?.off('data', onData)
        resolve(m[1]!)
      }
    }
    child.stderr?.on('data', onData)
    child.stdout?.on('data', onData)
    child.once('exit', (code) => reject(new Error(`exited with ${code} before listening:\n${seen}`)))
  })
}

export async function trainTwoRuns(home: string): Promise<string[]> {
  const ids: string[] = []
  for (const seed of ['1', '2']) {
    const res = await runCli([
      ...['train', ...GROWING_FLAGS, '--seed', seed, '--model', 'moons'],
      ...['--register-at', '0', '--stage-at', '1', '--json', '--quiet', '--home', home],
    ])
    expect(res.code, res.stderr).toBe(0)
    ids.push(parseJson<{run: {runId: string}}>(res.stdout).run.runId)
  }
  return ids
}
