import {createReadStream} from 'node:fs'
import {stat} from 'node:fs/promises'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {extname, join, normalize} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {PredictView} from '../../src/serve/predict-view.js'
import {parseJson, ROOT, runCli, tempDir} from '../helpers/cli.js'
import {expectShape} from '../helpers/shapes.js'
import {testTf} from '../helpers/tf.js'
import {openBrowser} from '../ui/helpers/browser.js'
import {
  exportCli,
  maxDiff,
  predictRegistry,
  SEED_CASES,
  syntheticRows,
  syntheticVersion,
  trainTiny,
  validationRows,
} from './support.js'

/**
 * The TF.js export is a plain LayersModel: `tf.loadLayersModel(url)` loads it over HTTP in Node
 * and in a real Chromium, and its probabilities match `morpho predict` to 1e-5.
 */

const TOLERANCE = 1e-5
const TFJS_BUNDLE = join(ROOT, 'node_modules', '@tensorflow', 'tfjs', 'dist', 'tf.min.js')

let home: {path: string; cleanup: () => Promise<void>}
let server: Server
let origin: string
const cases: {name: string; url: string; rows: number[][]; reference: PredictView; dir: string}[] = []

/** Static files: /tf.min.js and each export under /<name>/ (what a web page would host). */
function serve(root: string): Promise<Server> {
  const types: Record<string, string> = {
    '.json': 'application/json',
    '.js': 'text/javascript',
    '.bin': 'application/octet-stream',
  }
  const s = createServer(async (req, res) => {
    const path = new URL(req.url!, 'http://x').pathname
    if (path === '/') return res.writeHead(200, {'content-type': 'text/html'}).end('<!doctype html><title>tfjs</title>')
    const file = path === '/tf.min.js' ? TFJS_BUNDLE : join(root, normalize(path).replace(/^(\.\.[/\\])+/, ''))
    const ok = await stat(file).then(
      (st) => st.isFile(),
      () => false,
    )
    if (!ok) return res.writeHead(404).end()
    res.writeHead(200, {'content-type': types[extname(file)] ?? 'application/octet-stream'})
    createReadStream(file).pipe(res)
  })
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve(s)))
}

beforeAll(async () => {
  home = await tempDir('morpho-tfjs-')
  server = await serve(join(home.path, 'exports'))
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  const trained = await trainTiny(home.path, 'spirals')
  const synthetic = await syntheticVersion(home.path, 'blend', SEED_CASES['two live seeds, one mid-blend']!)
  for (const [name, ref, rows] of [
    ['spirals', {model: 'spirals', version: 1}, await validationRows(trained)],
    ['blend', {model: 'blend', version: synthetic.version}, syntheticRows(120)],
  ] as const) {
    const dir = join(home.path, 'exports', name)
    const res = await exportCli(home.path, `${ref.model}@${ref.version}`, 'tfjs', dir)
    expect(res.code, res.stderr).toBe(0)
    expect(res.json!.files.map((f) => f.path)).toEqual(['model.json', 'weights.bin'])
    cases.push({
      name,
      url: `${origin}/${name}/model.json`,
      rows: [...rows],
      reference: await predictRegistry(home.path, ref, [...rows]),
      dir,
    })
  }
}, 120_000)

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve))
  await home?.cleanup()
})

const worst: Record<string, number> = {}
afterAll(() => process.stderr.write(`TF.js export vs morpho predict, max |Δp|: ${JSON.stringify(worst)}\n`))

describe('the TF.js export', () => {
  it('loads with tf.loadLayersModel in Node and gives morpho predict’s probabilities', async () => {
    const {tf} = await testTf()
    for (const c of cases) {
      const model = await tf.loadLayersModel(c.url)
      const probs = tf.tidy(
        () => (model.predict(tf.tensor2d(c.rows)) as import('@tensorflow/tfjs').Tensor).arraySync() as number[][],
      )
      expect(model.getUserDefinedMetadata()).toMatchObject({
        morpho: {model_name: c.name === 'spirals' ? 'spirals' : 'blend'},
      })
      model.dispose()
      const diff = maxDiff(probs, c.reference.probabilities)
      worst[`node ${c.name}`] = diff
      expect(diff).toBeLessThanOrEqual(TOLERANCE)
    }
  })

  it('loads with tf.loadLayersModel in Chromium and gives the same probabilities', async () => {
    const browser = await openBrowser(origin)
    try {
      await browser.page.goto(`${origin}/`)
      await browser.page.addScriptTag({url: `${origin}/tf.min.js`})
      for (const c of cases) {
        const probs = await browser.page.evaluate(
          async ({url, rows}) => {
            const tf = (globalThis as unknown as {tf: typeof import('@tensorflow/tfjs')}).tf
            // The cpu backend computes in float32 like morpho; headless WebGL may not.
            await tf.setBackend('cpu')
            const model = await tf.loadLayersModel(url)
            return (model.predict(tf.tensor2d(rows)) as import('@tensorflow/tfjs').Tensor).arraySync() as number[][]
          },
          {url: c.url, rows: c.rows},
        )
        const diff = maxDiff(probs, c.reference.probabilities)
        worst[`chromium ${c.name}`] = diff
        expect(diff).toBeLessThanOrEqual(TOLERANCE)
      }
      expect(browser.problems).toEqual([])
      expect(browser.foreign).toEqual([])
    } finally {
      await browser.close()
    }
  })

  it('runs under `predict --model-file` with the same classes as morpho predict', async () => {
    for (const c of cases) {
      const res = await runCli(['predict', '--model-file', c.dir, '--json'], {input: JSON.stringify(c.rows)})
      expect(res.code, res.stderr).toBe(0)
      const answer = parseJson<PredictView>(res.stdout)
      expectShape('predict', answer)
      expect(answer.modelFile).toMatchObject({path: join(c.dir, 'model.json'), format: 'tfjs'})
      expect(answer.predictions).toEqual(c.reference.predictions)
      expect(maxDiff(answer.probabilities, c.reference.probabilities)).toBeLessThanOrEqual(TOLERANCE)
    }
  })
})
