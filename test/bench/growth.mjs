#!/usr/bin/env node
// Growth benchmark: does growing seeds earn its keep? For the five problems and four harder
// settings, several --seed values each, it trains
//   grown    growth as shipped (the default flags, plus the setting's own)
//   no-seeds the same network with --seeds-per-layer 0
//   static   that static network trained for the whole epoch budget (warm-up + adaptation)
//   sized    a static network as large as the grown one ended, for the same budget
//   small W  (the five problems) the start-small path: a narrow backbone (hidden W: 16 and 32
//            unless --small says otherwise) that grows where it under-fits
//   small-static W  that narrow backbone static, for the same budget
// and reports, per variant, the mean and spread over seeds of test accuracy and test NLL
// (on the held-out test rows, the same for every seed), the saved model's parameters, the
// training's wall seconds (the run record's) and the process's CPU seconds (user + system,
// start-up included: on a shared machine the CPU time moves far less with the load than wall
// time). Runs the built CLI (npm run build first), one training at a time unless --jobs says
// otherwise; a run whose flags equal another's (the narrow setting's grown run is spirals'
// small one) is trained once, since a --seed gives the same run. Prints a Markdown row per run
// as it ends, then the table over seeds and one line per setting on the goal (below), and
// writes the raw runs as JSON.
//
// The goal: where growth fires, the grown network's mean test accuracy is within noise (the
// larger sd over seeds, or 0.005) of the best static baseline's (no-seeds, static or sized,
// whichever has the highest mean test accuracy over every seed) while it ends smaller or
// trains in less CPU time; where it does not fire, it costs nothing: the no-seeds network's
// test accuracy, and at most 10% more CPU time.
//
//   node test/bench/growth.mjs                    every setting, 3 seeds (55 min at a load of 11 on 2 cores)
//   node test/bench/growth.mjs --quick            2 settings, 1 seed, few epochs (a smoke run)
//   node test/bench/growth.mjs --only frozen,noise --seeds 1,2
//   node test/bench/growth.mjs --out growth.json  where the raw runs go [default: a temp file]
//   node test/bench/growth.mjs --extra "--joint-lr-scale 1"   flags added to every grown run
//   node test/bench/growth.mjs --small 16                       widths of the start-small path
//   node test/bench/growth.mjs --no-ablation                    without the original's defaults
//
// The ablation: on spirals, the frozen backbone and label noise, the shipped defaults with one
// default at a time set back to the original's (and all of them at once), so each changed
// default is measured against the original's value on the same seeds.
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {availableParallelism, loadavg, tmpdir} from 'node:os'
import {join} from 'node:path'
import {pool, timedMorpho} from './cli.mjs'

const argv = process.argv.slice(2)
const option = (name) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined)
const quick = argv.includes('--quick')
const jobs = Number(option('--jobs')) || 1
const seeds = (option('--seeds') ?? (quick ? '1' : '1,2,3')).split(',').map(Number)
const extra = (option('--extra') ?? '').split(' ').filter(Boolean)
const smallWidths = (option('--small') ?? '16,32').split(',').filter(Boolean).map(Number)

// Defaults of the shipped flags that the budget and the sized network depend on.
const DEFAULTS = {warmUp: 100, adaptation: 150, hidden: 64, layers: 8}

/** Each setting: a name, what it is, and the flags that make it. */
const SETTINGS = [
  {name: 'spirals', what: 'spirals, defaults', flags: ['--problem', 'spirals'], small: true, ablation: true},
  {name: 'moons', what: 'moons, defaults', flags: ['--problem', 'moons'], small: true},
  {name: 'complex-moons', what: 'complex-moons, defaults', flags: ['--problem', 'complex-moons'], small: true},
  {name: 'clusters', what: 'clusters, defaults', flags: ['--problem', 'clusters'], small: true},
  {name: 'spheres', what: 'spheres, defaults', flags: ['--problem', 'spheres'], small: true},
  {
    name: 'frozen',
    what: 'spirals, backbone frozen early (warm-up 40 of 250)',
    flags: ['--problem', 'spirals', '--warm-up-epochs', '40', '--adaptation-epochs', '210'],
    ablation: true,
  },
  {name: 'narrow', what: 'spirals, narrow backbone (hidden 16)', flags: ['--problem', 'spirals', '--hidden-dim', '16']},
  {
    name: 'noise',
    what: 'moons, label noise (moon-noise 0.35)',
    flags: ['--problem', 'moons', '--moon-noise', '0.35'],
    ablation: true,
  },
  {
    name: 'uninformative',
    what: 'moons, 8 uninformative features (input-dim 10)',
    flags: ['--problem', 'moons', '--input-dim', '10'],
  },
]
/** The defaults that differ from the original's, each set back to the original's value. */
const ORIGINAL = [
  {name: 'warm-up 50, adaptation 200', flags: ['--warm-up-epochs', '50', '--adaptation-epochs', '200']},
  {name: 'hidden 128', flags: ['--hidden-dim', '128']},
  {name: 'lr-step 20', flags: ['--lr-step', '20']},
  {name: 'delta 5e-4', flags: ['--delta', '5e-4']},
  {name: 'controller plateau, acc-threshold 0.95', flags: ['--controller', 'plateau', '--acc-threshold', '0.95']},
  {name: 'joint-lr-scale 0', flags: ['--joint-lr-scale', '0']},
  {name: 'checkpoint last', flags: ['--checkpoint', 'last']},
]
const ablation = !argv.includes('--no-ablation')

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

/** Load averages seen while the benchmark runs (one-minute, sampled every 30 s). */
const loads = [loadavg()[0]]
const sampler = setInterval(() => loads.push(loadavg()[0]), 30_000)
sampler.unref()

/** Runs by their flags: the same flags give the same run, so each is trained once. */
const trained = new Map()
const keyOf = (args) => {
  const pairs = []
  for (let i = 0; i < args.length; i += 2) pairs.push(`${args[i]} ${args[i + 1]}`)
  return pairs.sort().join(' ')
}

/** One training run of the built CLI, unregistered: its `run` object, with `wall` and `cpu` seconds. */
function train(args, home) {
  const key = keyOf(args)
  if (!trained.has(key)) {
    trained.set(
      key,
      timedMorpho(['train', ...args, '--no-register'], home).then(({out, wall, cpu}) => ({...out.run, wall, cpu})),
    )
  }
  return trained.get(key)
}

const runHeader = [
  '| setting | seed | variant | test acc | test NLL | parameters | train s (wall) | process s (wall) | process s (CPU) | germinated | saved epoch / epochs | load |',
  '|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---:|',
]
/** The Markdown row of one run, printed as it ends. */
function runRow({setting, seed, variant, run, width}) {
  const s = run.summary
  const label = width ? `${variant} (hidden ${width})` : variant
  return `| ${setting} | ${seed} | ${label} | ${s.test_acc.toFixed(4)} | ${s.test_loss.toFixed(4)} | ${s.parameters.toLocaleString(
    'en-US',
  )} | ${run.seconds.toFixed(1)} | ${run.wall.toFixed(1)} | ${run.cpu.toFixed(1)} | ${s.seeds_germinated} | ${s.selected_epoch}/${
    s.epochs
  } | ${loadavg()[0].toFixed(1)} |`
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
  const runs = []
  const one = async (variant, args, width) => {
    const row = {setting: setting.name, seed, variant, run: await train(args, home), width}
    console.log(runRow(row))
    runs.push(row)
    return row.run
  }
  const grown = await one('grown', withFlags(base, ...extra))
  const noSeeds = await one('no-seeds', withFlags(base, '--seeds-per-layer', '0'))
  await one('static', withFlags(base, ...budget))
  if (grown.summary.parameters > noSeeds.summary.parameters) {
    const inputs = flagValue(base, '--input-dim', 3)
    const layers = flagValue(base, '--num-layers', DEFAULTS.layers)
    const width = widthFor(grown.summary.parameters, inputs, layers)
    await one('sized', withFlags(base, ...budget, '--hidden-dim', String(width)), width)
  }
  if (setting.ablation && ablation) {
    // A setting's own flags stay (the frozen backbone keeps its short warm-up).
    const reverts = ORIGINAL.filter((o) => !o.flags.some((f, i) => i % 2 === 0 && setting.flags.includes(f)))
    for (const o of reverts) await one(`original ${o.name}`, withFlags(base, ...o.flags))
    await one('original all', withFlags(base, ...reverts.flatMap((o) => o.flags)))
  }
  if (setting.small) {
    for (const width of smallWidths) {
      await one(`small ${width}`, withFlags(base, ...extra, '--hidden-dim', String(width)))
      await one(`small-static ${width}`, withFlags(base, ...budget, '--hidden-dim', String(width)))
    }
  }
  return runs
}

const started = performance.now()
const load = loadavg().map((l) => l.toFixed(2))
const home = await mkdtemp(join(tmpdir(), 'morpho-bench-growth-'))
console.log(runHeader.join('\n'))
let all
try {
  const tasks = settings.flatMap((s) => seeds.map((seed) => () => variants(s, seed, home)))
  all = (await pool(tasks, jobs)).flat()
} finally {
  await rm(home, {recursive: true, force: true})
}
const endLoad = loadavg().map((l) => l.toFixed(2))
clearInterval(sampler)
const sorted = [...loads].sort((a, b) => a - b)
const median = sorted[Math.floor(sorted.length / 2)]

const lines = [
  '',
  `## Growth benchmark (${quick ? 'quick' : 'full'}): ${seeds.length} seed(s) per setting (${seeds.join(', ')}), ${settings.length} settings (${settings.map((s) => s.name).join(', ')})`,
  '',
  `Load average (${availableParallelism()} cores) ${load.join(' ')} at the start, ${endLoad.join(' ')} at the end; during the run min ${sorted[0].toFixed(1)}, median ${median.toFixed(1)}, max ${sorted.at(-1).toFixed(1)}.`,
  '',
  "Test accuracy and test NLL on the held-out rows (mean ± sd over seeds); parameters of the saved model; training seconds (the run record's wall time) and the process's CPU seconds (start-up included), mean ± sd; germinations (total over seeds). A run whose flags equal another setting's is trained once and listed under both. `sized` exists only for the seeds whose grown network ended larger.",
  '',
  '| setting | variant | test acc | test NLL | parameters | train s (wall) | process s (CPU) | germinated | saved epoch / epochs |',
  '|---|---|---:|---:|---:|---:|---:|---:|---|',
]
for (const s of settings) {
  const smalls = smallWidths.flatMap((w) => [`small ${w}`, `small-static ${w}`])
  const originals = [...ORIGINAL.map((o) => `original ${o.name}`), 'original all']
  for (const variant of ['grown', 'no-seeds', 'static', 'sized', ...smalls, ...originals]) {
    const rs = all.filter((r) => r.setting === s.name && r.variant === variant)
    if (rs.length === 0) {
      if (variant === 'sized') lines.push('| | sized | – (nothing grew) | | | | | | |')
      continue
    }
    const summaries = rs.map((r) => r.run.summary)
    const label =
      variant === 'sized'
        ? `sized (hidden ${rs.map((r) => r.width).join('/')}${
            rs.length < seeds.length ? `; seed ${rs.map((r) => r.seed).join(', ')} only` : ''
          })`
        : variant.startsWith('original ')
          ? `defaults but ${variant === 'original all' ? "all of the original's" : variant.slice('original '.length)}`
          : variant
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
      )} | ${cell(
        rs.map((r) => r.run.cpu),
        1,
      )} | ${summaries.reduce((n, x) => n + x.seeds_germinated, 0)} | ${summaries
        .map((x) => `${x.selected_epoch}/${x.epochs}`)
        .join(', ')} |`,
    )
  }
}
lines.push('', ...goalLines(), '', `Total ${((performance.now() - started) / 60000).toFixed(1)} min.`)

/** One line per setting: did growth fire, and does the goal (see the top) hold? */
function goalLines() {
  const out = [
    "| setting | germinated | grown test acc − best static's (which) | seeds grown ≥ it | grown params / its | grown CPU / its | goal |",
    '|---|---:|---|---:|---:|---:|---|',
  ]
  for (const s of settings) {
    const of = (variant) => all.filter((r) => r.setting === s.name && r.variant === variant)
    const grown = of('grown')
    const accs = (rs) => rs.map((r) => r.run.summary.test_acc)
    const germinated = grown.reduce((n, r) => n + r.run.summary.seeds_germinated, 0)
    const candidates = ['no-seeds', 'static', 'sized'].map(of).filter((rs) => rs.length === grown.length)
    const best = candidates.reduce((a, b) => (mean(accs(b)) > mean(accs(a)) ? b : a))
    const noise = Math.max(sd(accs(grown)), sd(accs(best)), 0.005)
    const diff = mean(accs(grown)) - mean(accs(best))
    const params = mean(grown.map((r) => r.run.summary.parameters)) / mean(best.map((r) => r.run.summary.parameters))
    const cpu = mean(grown.map((r) => r.run.cpu)) / mean(best.map((r) => r.run.cpu))
    const wins = grown.filter((r, i) => r.run.summary.test_acc >= best[i].run.summary.test_acc).length
    let goal
    if (germinated === 0) {
      const noSeeds = of('no-seeds')
      const same = mean(accs(grown)) === mean(accs(noSeeds))
      const cost = mean(grown.map((r) => r.run.cpu)) / mean(noSeeds.map((r) => r.run.cpu))
      goal =
        same && cost <= 1.1
          ? 'met: did not fire, cost nothing'
          : `not met: did not fire, CPU ×${cost.toFixed(2)} of no-seeds${same ? '' : ', accuracy differs'}`
    } else {
      const within = diff >= -noise
      goal =
        within && (params < 1 || cpu < 1)
          ? `met: within noise (${noise.toFixed(4)}), ${params < 1 ? 'smaller' : 'less CPU'}`
          : `not met: ${within ? `within noise (${noise.toFixed(4)}) but larger and slower` : `below by more than the noise (${noise.toFixed(4)})`}`
    }
    out.push(
      `| ${s.name} | ${germinated} | ${diff >= 0 ? '+' : ''}${diff.toFixed(4)} (${best[0].variant}) | ${wins}/${grown.length} | ${params.toFixed(2)} | ${cpu.toFixed(2)} | ${goal} |`,
    )
  }
  return out
}
console.log(lines.join('\n'))
const out = option('--out') ?? join(tmpdir(), `morpho-bench-growth-${Date.now()}.json`)
await writeFile(out, `${JSON.stringify({load, endLoad, seeds, extra, runs: all}, null, 2)}\n`)
console.error(`raw runs: ${out}`)
