// The speed part of the training benchmark (bench/train.mjs): morpho's seconds per epoch beside
// PyTorch (test/bench/train-torch.py, run only where python3 has torch) and beside plain TF.js
// model.fit (test/bench/train-reference.mjs), on the same network: input 3, 8 blocks with one
// dormant seed each, 2,000 samples (1,600 trained, 400 validated per epoch), batch 64, at hidden
// 64 (morpho's default) and 128 (the original's); then a whole default `morpho train` process
// beside a PyTorch process that trains the same epochs (the plan of the morpho run it follows).
// Each measurement runs in its own process, in interleaved rounds (every kind once per round,
// the order turning each round), and the tables give medians over the rounds.
import {execFile, spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import {readFile, rm, writeFile} from 'node:fs/promises'
import {cpus, loadavg} from 'node:os'
import {join} from 'node:path'
import {morpho, root} from './cli.mjs'

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const ratio = (a, b) => (a && b ? (a / b).toFixed(2) : '–')
const s3 = (x) => (x === undefined ? '–' : x.toFixed(3))
const load = () => loadavg()[0].toFixed(1)

function run(cmd, args, env = {}) {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    execFile(cmd, args, {env: {...process.env, ...env}, maxBuffer: 1 << 26}, (err, stdout, stderr) => {
      if (err) return reject(Object.assign(err, {reason: (stderr || stdout).trim().split('\n').at(-1)}))
      resolve({stdout, wall: (performance.now() - started) / 1000})
    })
  })
}

/** The interpreter with torch: Debian's python3 (pyenv's, first on PATH here, has none), else python3. */
export async function findTorch() {
  for (const python of ['/usr/bin/python3', 'python3']) {
    if (python.startsWith('/') && !existsSync(python)) continue
    try {
      await run(python, ['-c', 'import torch'])
      return python
    } catch {}
  }
  return undefined
}

const network = (hidden) => [
  '--hidden-dim',
  String(hidden),
  '--input-dim',
  '3',
  '--num-layers',
  '8',
  '--seeds-per-layer',
  '1',
]

async function morphoEpoch(home, backend, hidden, epochs, env = {}) {
  const out = await morpho(
    ['train', ...network(hidden), '--warm-up-epochs', String(epochs), '--adaptation-epochs', '0', '--no-register'],
    home,
    {MORPHO_BACKEND: backend, ...env},
  )
  const lines = (await readFile(join(home, 'runs', out.run.runId, 'metrics.jsonl'), 'utf8')).trim().split('\n')
  return median(lines.slice(1).map((l) => JSON.parse(l).seconds))
}

async function fitEpoch(backend, hidden, epochs) {
  const {stdout} = await run(
    process.execPath,
    [
      join(root, 'test', 'bench', 'train-reference.mjs'),
      '--backend',
      backend,
      '--hidden',
      String(hidden),
      '--epochs',
      String(epochs),
    ],
    {NODE_ENV: 'production'},
  )
  return JSON.parse(stdout).seconds
}

async function torchRun(python, args) {
  const {stdout, wall} = await run(python, [join(root, 'test', 'bench', 'train-torch.py'), ...args])
  return {...JSON.parse(stdout), wall}
}

/** A default run's epochs as the PyTorch loop follows them: each epoch's phase, and the germinations. */
async function planOf(home, runId) {
  const dir = join(home, 'runs', runId)
  const epochs = (await readFile(join(dir, 'metrics.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l).phase)
  const events = (await readFile(join(dir, 'events.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
  const germinations = Object.fromEntries(events.filter((e) => e.type === 'germination').map((e) => [e.epoch, e.seed]))
  return {epochs, germinations}
}

/** Wall seconds of a process, from spawn to exit. */
function wallOf(cmd, args, env) {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(cmd, args, {env: {...process.env, ...env}, stdio: ['ignore', 'pipe', 'pipe']})
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
    })
    child.on('error', reject)
    child.on('exit', (code) =>
      code === 0
        ? resolve({wall: (performance.now() - started) / 1000, out})
        : reject(new Error(`${cmd} exited ${code}`)),
    )
  })
}

export async function speedTables(home, {rounds, epochs, backends, hiddens}) {
  const python = await findTorch()
  const loads = [load()]
  const cells = new Map()
  const add = (key, value) => cells.set(key, [...(cells.get(key) ?? []), value])
  let torchInfo
  const kinds = []
  for (const backend of backends) {
    for (const hidden of hiddens) {
      kinds.push(['morpho', backend, hidden], ['fit', backend, hidden])
      // The cpu step's large products split with a second thread; this row keeps it on one.
      if (backend === 'cpu') kinds.push(['morpho1', backend, hidden])
    }
  }
  if (python) for (const hidden of hiddens) kinds.push(['torch', 'torch', hidden])
  kinds.push(['process', 'morpho'])
  if (python) kinds.push(['process', 'torch'])

  let plan
  const planFile = join(home, 'torch-plan.json')
  for (let round = 0; round < rounds; round++) {
    // Turn the order each round, so no kind always runs right after the same other one.
    const order = kinds.map((_, i) => kinds[(i + round) % kinds.length])
    for (const [what, who, hidden] of order) {
      try {
        if (what === 'morpho') add(`morpho ${who} ${hidden}`, await morphoEpoch(home, who, hidden, epochs))
        else if (what === 'morpho1')
          add(`morpho1 ${who} ${hidden}`, await morphoEpoch(home, who, hidden, epochs, {MORPHO_TRAIN_THREADS: '1'}))
        else if (what === 'fit') add(`fit ${who} ${hidden}`, await fitEpoch(who, hidden, epochs))
        else if (what === 'torch') {
          const t = await torchRun(python, ['--hidden', String(hidden), '--epochs', String(epochs)])
          torchInfo = t
          add(`torch ${hidden}`, median(t.seconds.slice(1)))
        } else if (who === 'morpho') {
          const {wall, out} = await wallOf(
            process.execPath,
            [join(root, 'bin', 'run.js'), 'train', '--no-register', '--home', home, '--json', '--quiet'],
            {
              NODE_ENV: 'production',
            },
          )
          const runId = JSON.parse(out).run.runId
          plan = await planOf(home, runId)
          await writeFile(planFile, JSON.stringify(plan))
          add('process morpho', wall)
          add('process epochs', plan.epochs.length)
          await rm(join(home, 'runs', runId), {recursive: true, force: true})
        } else if (plan) {
          add(
            'process torch',
            (await wallOf(python, [join(root, 'test', 'bench', 'train-torch.py'), '--plan', planFile])).wall,
          )
        }
      } catch (err) {
        add(`error ${what} ${who} ${hidden ?? ''}`, String(err.reason ?? err.message).slice(0, 160))
      }
    }
    loads.push(load())
  }
  const m = (key) => (cells.get(key) ? median(cells.get(key)) : undefined)

  const lines = []
  const say = (s = '') => lines.push(s)
  say(
    `## Seconds per warm-up epoch, side by side (median of epochs 2-${epochs}, then of ${rounds} interleaved rounds)\n`,
  )
  say(
    'The same network everywhere: input 3, 8 blocks of Linear(H→H)+ReLU each with one dormant seed, 2 classes; 1,600 rows trained in batches of 64 and 400 validated per epoch. morpho: `morpho train` (the epoch time it records: the training pass, the validation score and the checkpoint); on cpu its large products split with a second thread, and the "one thread" row is the same run with MORPHO_TRAIN_THREADS=1. Plain TF.js: the same network as tf.layers with `model.fit` (test/bench/train-reference.mjs). PyTorch: a loop of nn.Linear layers, Adam and cross-entropy over shuffled index batches, one thread (test/bench/train-torch.py).\n',
  )
  if (python && torchInfo) {
    say(
      `PyTorch ${torchInfo.torch} (${python}), ${torchInfo.threads} thread, BLAS loaded: ${torchInfo.blas.map((p) => p.split('/').at(-1)).join(', ') || 'none found'}; a 64×128×128 matmul takes ${torchInfo.matmulUs.toFixed(0)} µs (OpenBLAS ~35 µs here, the reference BLAS ~650 µs).\n`,
    )
  } else {
    say(
      'PyTorch: not measured (no python3 with torch here; Debian: apt-get install python3-torch libopenblas0-pthread).\n',
    )
  }
  say(
    '| backend | hidden | morpho s/epoch | PyTorch s/epoch | morpho ÷ PyTorch | plain TF.js s/epoch | morpho ÷ plain TF.js |',
  )
  say('|---|---:|---:|---:|---:|---:|---:|')
  for (const backend of backends) {
    for (const hidden of hiddens) {
      const a = m(`morpho ${backend} ${hidden}`)
      const t = m(`torch ${hidden}`)
      const p = m(`fit ${backend} ${hidden}`)
      say(`| ${backend} | ${hidden} | ${s3(a)} | ${s3(t)} | ${ratio(a, t)} | ${s3(p)} | ${ratio(a, p)} |`)
      const one = m(`morpho1 ${backend} ${hidden}`)
      if (one !== undefined)
        say(
          `| ${backend}, one thread | ${hidden} | ${s3(one)} | ${s3(t)} | ${ratio(one, t)} | ${s3(p)} | ${ratio(one, p)} |`,
        )
    }
  }
  const pm = m('process morpho')
  const pt = m('process torch')
  say(`\n## A whole default \`morpho train\` process beside PyTorch (${rounds} interleaved rounds, medians)\n`)
  say(
    `Wall time from start to exit: \`morpho train --no-register\` with every default (spirals, hidden 64, ${m('process epochs') ?? '?'} epochs, the test set scored, the run recorded), and the PyTorch loop following that run's plan (each epoch's phase, the seeds germinating when they did), start-up and \`import torch\` included.\n`,
  )
  say('| morpho s | PyTorch s | morpho ÷ PyTorch |\n|---:|---:|---:|')
  say(`| ${s3(pm)} | ${s3(pt)} | ${ratio(pm, pt)} |`)
  const errors = [...cells].filter(([k]) => k.startsWith('error'))
  for (const [k, v] of errors) say(`\n${k}: ${v[0]}`)
  say(`\nload average (1 min) at the start and after each round: ${loads.join(', ')} on ${cpus().length} cores`)
  return lines.join('\n')
}
