#!/usr/bin/env node
// Where a training epoch's time goes, through TF.js's engine (MORPHO_STEP=reference) and
// through the kernel step: forward, loss, backward, Adam, batching and shuffling, validation,
// the checkpoint copy, seed metrics, the per-epoch metrics line, and the loop itself. Each
// step kind runs in its own process, in interleaved rounds; the table gives medians of ms per
// epoch, wall and CPU (process.cpuUsage, which the load disturbs less).
//
// The loop is the real one (dist/src, npm run build first), timed by wrapping its methods:
// time goes to the innermost part running, except inside validation, the checkpoint and the
// seed metrics, which keep what they call (validation's forward pass is validation's).
//
//   node test/bench/train-profile.mjs [--backend wasm|cpu] [--hidden 64] [--epochs 6] [--rounds 3]
//
// npm run bench:train prints it for wasm and cpu at hidden 128 after the speed tables.
import {execFile} from 'node:child_process'
import {appendFileSync, mkdtempSync, rmSync} from 'node:fs'
import {cpus, loadavg, tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'

const here = fileURLToPath(import.meta.url)
const dist = join(here, '..', '..', '..', 'dist', 'src')
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : fallback
}

/** The parts, in the order printed; `opaque` parts keep the time of what they call. */
const PARTS = [
  ['forward', 'forward pass (training)'],
  ['loss', 'loss and its gradient'],
  ['backward', 'backward pass (rest of the step)'],
  ['adam', 'Adam updates'],
  ['batch', 'batching (gathering rows)'],
  ['shuffle', 'shuffling'],
  ['validation', 'validation score (400 rows)'],
  ['checkpoint', 'checkpoint copy'],
  ['seeds', 'seed states and drift'],
  ['metrics', 'metrics line and events'],
  ['loop', 'the loop itself (batches, event-loop turns)'],
]
const OPAQUE = new Set(['validation', 'checkpoint', 'seeds', 'metrics'])

async function child({backend, hidden, epochs}) {
  const load = (p) => import(pathToFileURL(join(dist, p)).href)
  const [{loadTf}, {resolveTrainOptions}, {prepareData}, {Trainer}, {Rng}, {MorphoNet}, step, kernels] =
    await Promise.all([
      load('tf/backend.js'),
      load('training/options.js'),
      load('training/prepare.js'),
      load('training/trainer.js'),
      load('data/rng.js'),
      load('model/network.js'),
      load('training/step.js'),
      load('training/kernel-step.js'),
    ])
  const {tf} = await loadTf(backend)
  const options = resolveTrainOptions({
    hiddenDim: hidden,
    inputDim: 3,
    numLayers: 8,
    seedsPerLayer: 1,
    warmUpEpochs: epochs,
    adaptationEpochs: 0,
  })
  const cpu = () => {
    const u = process.cpuUsage()
    return (u.user + u.system) / 1000
  }
  const wall = new Map()
  const used = new Map()
  const stack = []
  let mark = {wall: performance.now(), cpu: cpu()}
  const charge = () => {
    const now = {wall: performance.now(), cpu: cpu()}
    const top = stack.at(-1)
    if (top) {
      wall.set(top, (wall.get(top) ?? 0) + now.wall - mark.wall)
      used.set(top, (used.get(top) ?? 0) + now.cpu - mark.cpu)
    }
    mark = now
  }
  const enter = (part) => {
    charge()
    stack.push(part)
  }
  const leave = () => {
    charge()
    stack.pop()
  }
  const wrap = (proto, method, part) => {
    const original = proto[method]
    if (typeof original !== 'function') throw new Error(`no ${method} to time`)
    proto[method] = function (...args) {
      if (OPAQUE.has(stack.at(-1))) return original.apply(this, args)
      enter(part)
      let result
      try {
        result = original.apply(this, args)
      } catch (err) {
        leave()
        throw err
      }
      if (result instanceof Promise) return result.finally(leave)
      leave()
      return result
    }
  }
  wrap(Trainer.prototype, 'trainEpoch', 'loop')
  wrap(Trainer.prototype, 'fillBatch', 'batch')
  wrap(Rng.prototype, 'shuffleInPlace', 'shuffle')
  wrap(Trainer.prototype, 'evaluate', 'validation')
  wrap(Trainer.prototype, 'checkpoint', 'checkpoint')
  wrap(Trainer.prototype, 'seedStates', 'seeds')
  // The step's own parts: the kernel step's methods, or the network and Adam under the tape.
  wrap(kernels.KernelStepper.prototype, 'step', 'backward')
  wrap(kernels.KernelStepper.prototype, 'forward', 'forward')
  wrap(kernels.KernelStepper.prototype, 'lossGrad', 'loss')
  wrap(step.ReferenceStepper.prototype, 'step', 'backward')
  wrap(step.ReferenceStepper.prototype, 'lossOf', 'loss')
  wrap(MorphoNet.prototype, 'forward', 'forward')
  const rng = new Rng(options.seed)
  const prepStarted = performance.now()
  const prepared = await prepareData(options)
  const prepMs = performance.now() - prepStarted
  const trainer = new Trainer(tf, prepared.data, options, rng)
  // Adam: the first optimiser the loop makes tells its class.
  wrap(
    Object.getPrototypeOf(trainer.stepper.adam()),
    trainer.stepper.kind === 'kernels' ? 'apply' : 'applyGradients',
    'adam',
  )
  const home = mkdtempSync(join(tmpdir(), 'morpho-profile-'))
  const metricsFile = join(home, 'metrics.jsonl')
  const epochWall = []
  try {
    await trainer.run({
      onEpoch: (m) => {
        if (m.epoch > 1) epochWall.push(m.seconds * 1000)
        enter('metrics')
        appendFileSync(metricsFile, `${JSON.stringify(m)}\n`)
        leave()
        // The first epoch warms the code up: count from the second on.
        if (m.epoch === 1) {
          wall.clear()
          used.clear()
        }
      },
      onEvent: (e) => {
        enter('metrics')
        appendFileSync(join(home, 'events.jsonl'), `${JSON.stringify(e)}\n`)
        leave()
      },
    })
  } finally {
    rmSync(home, {recursive: true, force: true})
  }
  const per = (m) => Object.fromEntries([...m].map(([k, v]) => [k, v / (epochs - 1)]))
  console.log(
    JSON.stringify({
      kind: trainer.stepper.kind,
      wall: per(wall),
      cpu: per(used),
      epochMs: epochWall.sort((a, b) => a - b)[Math.floor(epochWall.length / 2)],
      prepMs,
    }),
  )
}

function runChild(kind, {backend, hidden, epochs}) {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [here, '--child', '--backend', backend, '--hidden', String(hidden), '--epochs', String(epochs)],
      {env: {...process.env, NODE_ENV: 'production', MORPHO_STEP: kind === 'reference' ? 'reference' : ''}},
      (err, stdout, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve(JSON.parse(stdout))),
    )
  })
}

/** The profile table (Markdown) of one backend and width, the two kinds of step interleaved. */
export async function profileTable({backend, hidden, epochs, rounds}) {
  const lines = []
  const say = (line = '') => lines.push(line)
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  const loads = [loadavg()[0].toFixed(1)]
  const runs = {reference: [], kernels: []}
  for (let round = 0; round < rounds; round++) {
    for (const kind of round % 2 ? ['kernels', 'reference'] : ['reference', 'kernels'])
      runs[kind].push(await runChild(kind, {backend, hidden, epochs}))
    loads.push(loadavg()[0].toFixed(1))
  }
  const cell = (kind, what, part) => median(runs[kind].map((r) => r[what][part] ?? 0))
  const ms = (x) => (x < 10 ? x.toFixed(2) : x.toFixed(1))
  say(
    `## Where an epoch's time goes: ${backend}, hidden ${hidden}, ${epochs} warm-up epochs, medians of ${rounds} interleaved rounds\n`,
  )
  say(`ms per epoch, epochs 2-${epochs} (the first warms the code up).\n`)
  say('| part | engine wall | engine CPU | kernel step wall | kernel step CPU |')
  say('|---|---:|---:|---:|---:|')
  const total = {reference: {wall: 0, cpu: 0}, kernels: {wall: 0, cpu: 0}}
  for (const [part, label] of PARTS) {
    const row = [label]
    for (const kind of ['reference', 'kernels']) {
      for (const what of ['wall', 'cpu']) {
        const v = cell(kind, what, part)
        total[kind][what] += v
        row.push(ms(v))
      }
    }
    say(`| ${row.join(' | ')} |`)
  }
  say(
    `| **sum** | ${ms(total.reference.wall)} | ${ms(total.reference.cpu)} | ${ms(total.kernels.wall)} | ${ms(total.kernels.cpu)} |`,
  )
  const epochMs = (kind) => median(runs[kind].map((r) => r.epochMs))
  say(
    `\nThe epoch time the loop records (median of epochs 2-${epochs}; the sum above adds what the loop does outside it, the metrics line): engine ${ms(epochMs('reference'))} ms, kernel step ${ms(epochMs('kernels'))} ms. Preparing the data (once per run, not per epoch): ${ms(median(runs.kernels.map((r) => r.prepMs)))} ms.`,
  )
  say(`\nload average (1 min) at the start and after each round: ${loads.join(', ')} on ${cpus().length} cores`)
  return lines.join('\n')
}

if (process.argv[1] === here) {
  const options = {
    backend: arg('backend', 'wasm'),
    hidden: Number(arg('hidden', '64')),
    epochs: Number(arg('epochs', '6')),
    rounds: Number(arg('rounds', '3')),
  }
  const run = process.argv.includes('--child') ? child(options) : profileTable(options).then((t) => console.log(t))
  run.catch((err) => {
    console.error(err)
    process.exit(1)
  })
}
