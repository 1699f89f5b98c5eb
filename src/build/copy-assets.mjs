// Puts the web page into dist/ui: its own files (src/ui/assets) and the charting library
// (uPlot, a dependency) with its licence. The package ships dist, and the single executable
// embeds dist/ui under the keys the server reads by ("ui/<name>"), so an installed morpho and
// the binary serve the same files and never need a CDN.
import {copyFile, cp, mkdir, rm} from 'node:fs/promises'
import {createRequire} from 'node:module'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const to = join(root, 'dist', 'ui')
const uplot = dirname(createRequire(import.meta.url).resolve('uplot/package.json'))

// Start clean, so a file deleted from the sources is not served from a stale build.
await rm(to, {recursive: true, force: true})
await mkdir(to, {recursive: true})
await cp(join(root, 'src', 'ui', 'assets'), to, {recursive: true})
await copyFile(join(uplot, 'dist', 'uPlot.iife.min.js'), join(to, 'uplot.min.js'))
await copyFile(join(uplot, 'dist', 'uPlot.min.css'), join(to, 'uplot.min.css'))
await copyFile(join(uplot, 'LICENSE'), join(to, 'uplot.LICENSE'))
