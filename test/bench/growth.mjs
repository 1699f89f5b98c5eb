#!/usr/bin/env node
// Growth benchmark: does growing seeds earn its keep? For the five problems and four harder
// settings, several --seed values each, it trains
//   grown    growth as shipped (the default flags, plus the setting's own)
//   no-seeds the same network with --seeds-per-layer 0
//   static   that static network trained for the whole epoch budget (warm-up + adaptation)
//   sized    a static network as large as the grown one ended, for the same budget
//   small    (the five problems) the start-small path: a narrow backbone (hidden 16) that grows
// and reports, per variant, the mean and spread over seeds of test accuracy and test NLL
// (on the held-out test rows, the same for every seed), the saved model's parameters and the
// training seconds. Runs the built CLI (npm run build first), one training at a time unless
// --jobs says otherwise; prints Markdown and writes the raw runs as JSON.
//
//   node test/bench/growth.mjs                    every setting, 3 seeds (long: an hour or more)
//   node test/bench/growth.mjs --quick            2 settings, 1 seed, few epochs (a smoke run)
//   node test/bench/growth.mjs --only frozen,noise --seeds 1,2
//   node test/bench/growth.mjs --out growth.json  where the raw runs go [default: a temp file]
//   node test/bench/growth.mjs --extra "--joint-lr-scale 1"   flags added to every grown run
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {loadavg, tmpdir} from 'node:os'
import {join} from 'node:path'
import {morpho, pool} from './cli.mjs'

const argv = process.argv.slice(2)
const option = (name) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined)
const quick = argv.includes('--quick')
const jobs = Number(option('--jobs')) || 1
const seeds = (option('--seeds') ?? (quick ? '1' : '1,2,3')).split(',').map(Number)
const extra = (option('--extra') ?? '').split(' ').filter(Boolean)

// Defaults of the shipped flags that the budget and the sized network depend on.
const DEFAULTS = {warmUp: 100, adaptation: 150, hidden: 64, layers: 8}

/** Each setting: a name, what it is, and the flags that make it. */
const SETTINGS = [
  {name: 'spirals', what: 'spirals, defaults', flags: ['--problem', 'spirals'], small: true},
  {name: 'moons', what: 'moons, defaults', flags: ['--problem', 'moons'], small: true},
  {name: 'complex-moons', what: 'complex-moons, defaults', flags: ['--problem', 'complex-moons'], small: true},
  {name: 'clusters', what: 'clusters, defaults', flags: ['--problem', 'clusters'], small: true},
  {name: 'spheres', what: 'spheres, defaults', flags: ['--problem', 'spheres'], small: true},
  {
    name: 'frozen',
    what: 'spirals, backbone frozen early (warm-up 40 of 250)',
    flags: ['--problem', 'spirals', '--warm-up-epochs', '40', '--adaptation-epochs', '210'],
  },
  {name: 'narrow', what: 'spirals, narrow backbone (hidden 16)', flags: ['--problem', 'spirals', '--hidden-dim', '16']},
  {name: 'noise', what: 'moons, label noise (moon-noise 0.35)', flags: ['--problem', 'moons', '--moon-noise', '0.35']},
  {
    name: 'uninformative',
    what: 'moons, 8 uninformative features (input-dim 10)',
    flags: ['--problem', 'moons', '--input-dim', '10'],
  },
]
/** A smoke run: a tenth of the epochs, fewer rows, a shorter patience. */
function quickly(flags) {
  const tenth = (name, fallback) => String(Math.ceil(flagValue(flags, name, fallback) / 10))
  return withFlags(
    flags,
    ...['--warm-up-epochs', tenth('--warm-up-epochs', DEFAULTS.warmUp)],
    ...['--adaptation-epochs', tenth('--adaptation-epochs', DEFAULTS.adaptation)],
    ...['--samples', '400', '--patience', '3'],
  )
}

const only = option('--only')?.split(',')
const settings = quick
  ? SETTINGS.filter((s) => ['spirals', 'frozen'].includes(s.name))
  : SETTINGS.filter((s) => !only || only.includes(s.name))

/** `flags` with each `--name value` of `over` replacing (or adding) that flag. */
function withFlags(flags, ...over) {
  const out = [...flags]
  for (let i = 0; i < over.length; i += 2) {
    const at = out.indexOf(over[i])
    if (at >= 0) out.splice(at, 2)
    out.push(over[i], over[i + 1])
  }
  return out
}

function flagValue(flags, name, fallback) {
  const i = flags.lastIndexOf(name)
  return i >= 0 ? Number(flags[i + 1]) : fallback
}

/** Parameters of the static network: input, numLayers hidden blocks, head. */
function staticParams(inputs, hidden, layers, classes = 2) {
  return inputs * hidden + hidden + layers * (hidden * hidden + hidden) + hidden * classes + classes
}

/** The hidden width whose static network has about `target` parameters. */
function widthFor(target, inputs, layers) {
  let best = 1
  for (let h = 1; h <= 1024; h++) {
    if (Math.abs(staticParams(inputs, h, layers) - target) < Math.abs(staticParams(inputs, best, layers) - target)) {
      best = h
    }
  }
  return best
}

/** One training run of the built CLI, unregistered: its `run` object. */
async function train(args, home) {
  return (await morpho(['train', ...args, '--no-register'], home)).run
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length
const sd = (xs) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)))
const cell = (xs, digits) => `${mean(xs).toFixed(digits)} ± ${sd(xs).toFixed(digits)}`

/** One setting, one seed: the four variants (the sized one needs the grown one's size first). */
async function variants(setting, seed, home) {
  const base = [...(quick ? quickly(setting.flags) : setting.flags), '--seed', String(seed)]
  const warmUp = flagValue(base, '--warm-up-epochs', DEFAULTS.warmUp)
  const adaptation = flagValue(base, '--adaptation-epochs', DEFAULTS.adaptation)
  const budget = ['--seeds-per-layer', '0', '--warm-up-epochs', String(warmUp + adaptation), '--adaptation-epochs', '0']
  const grown = await train(withFlags(base, ...extra), home)
  const noSeeds = await train(withFlags(base, '--seeds-per-layer', '0'), home)
  const stat = await train(withFlags(base, ...budget), home)
  const runs = [
    {variant: 'grown', run: grown},
    {variant: 'no-seeds', run: noSeeds},
    {variant: 'static', run: stat},
  ]
  if (grown.summary.parameters > noSeeds.summary.parameters) {
    const inputs = flagValue(base, '--input-dim', 3)
    const layers = flagValue(base, '--num-layers', DEFAULTS.layers)
    const width = widthFor(grown.summary.parameters, inputs, layers)
    const sized = await train(withFlags(base, ...budget, '--hidden-dim', String(width)), home)
    runs.push({variant: 'sized', run: sized, width})
  }
  if (setting.small)
    runs.push({variant: 'small', run: await train(withFlags(base, ...extra, '--hidden-dim', '16'), home)})
  return runs.map((r) => ({setting: setting.name, seed, ...r}))
}

const started = performance.now()
const load = loadavg().map((l) => l.toFixed(2))
const home = await mkdtemp(join(tmpdir(), 'morpho-bench-growth-'))
let all
try {
  const tasks = settings.flatMap((s) => seeds.map((seed) => () => variants(s, seed, home)))
  all = (await pool(tasks, jobs)).flat()
} finally {
  await rm(home, {recursive: true, force: true})
}
const endLoad = loadavg().map((l) => l.toFixed(2))

const lines = [
  `## Growth benchmark (${quick ? 'quick' : 'full'}): ${seeds.length} seed(s) per setting, load average ${load.join(' ')} at the start, ${endLoad.join(' ')} at the end`,
  '',
  'Test accuracy and test NLL on the held-out rows (mean ± sd over seeds); parameters of the saved model; training seconds; germinations (total over seeds).',
  '',
  '| setting | variant | test acc | test NLL | parameters | seconds | germinated | saved epoch / epochs |',
  '|---|---|---:|---:|---:|---:|---:|---|',
]
for (const s of settings) {
  for (const variant of ['grown', 'no-seeds', 'static', 'sized', 'small']) {
    const rs = all.filter((r) => r.setting === s.name && r.variant === variant)
    if (rs.length === 0) {
      if (variant === 'sized') lines.push('| | sized | – (nothing grew) | | | | | |')
      continue
    }
    const summaries = rs.map((r) => r.run.summary)
    const label = variant === 'sized' ? `sized (hidden ${rs.map((r) => r.width).join('/')})` : variant
    lines.push(
      `| ${variant === 'grown' ? `${s.name}: ${s.what}` : ''} | ${label} | ${cell(
        summaries.map((x) => x.test_acc),
        4,
      )} | ${cell(
        summaries.map((x) => x.test_loss),
        4,
      )} | ${Math.round(mean(summaries.map((x) => x.parameters))).toLocaleString('en-US')} | ${cell(
        rs.map((r) => r.run.seconds),
        1,
      )} | ${summaries.reduce((n, x) => n + x.seeds_germinated, 0)} | ${summaries
        .map((x) => `${x.selected_epoch}/${x.epochs}`)
        .join(', ')} |`,
    )
  }
}
lines.push('', `Total ${((performance.now() - started) / 60000).toFixed(1)} min.`)
console.log(lines.join('\n'))
const out = option('--out') ?? join(tmpdir(), `morpho-bench-growth-${Date.now()}.json`)
await writeFile(out, `${JSON.stringify({load, endLoad, seeds, extra, runs: all}, null, 2)}\n`)
console.error(`raw runs: ${out}`)
