#!/usr/bin/env node
// Training benchmark: seconds per epoch on the wasm and cpu backends beside PyTorch and plain
// TF.js model.fit on the same network, and a whole default run beside PyTorch, as ratios
// (train-speed.mjs); where an epoch's time goes through the engine and through the kernel
// step, on both backends at hidden 128 (train-profile.mjs); then the val_acc the defaults
// reach on each problem, with seeds and without (--seeds-per-layer 0), plus spirals over
// several --seed values.
// Runs the built CLI (npm run build first); prints Markdown tables.
//
//   node test/bench/train.mjs            full run (several minutes)
//   node test/bench/train.mjs --quick    a smoke-sized run for `npm run bench`
//   node test/bench/train.mjs --jobs 2   training processes at once for the accuracy part
//   node test/bench/train.mjs --speed    the speed tables and profiles only
import {execFile} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {mkdtemp, rm} from 'node:fs/promises'
import {cpus, tmpdir} from 'node:os'
import {join} from 'node:path'
import {bin, morpho, pool} from './cli.mjs'
import {profileTable} from './train-profile.mjs'
import {speedTables} from './train-speed.mjs'

const argv = process.argv.slice(2)
const quick = argv.includes('--quick')
const speedOnly = argv.includes('--speed')
const jobs = Number(argv[argv.indexOf('--jobs') + 1]) || (quick ? 2 : 1)
const problems = ['spirals', 'moons', 'complex-moons', 'clusters', 'spheres']
const spiralSeeds = quick ? [1] : [1, 2, 3]
const quickFlags = quick ? ['--warm-up-epochs', '10', '--adaptation-epochs', '10'] : []

const f4 = (x) => (x === undefined ? '-' : x.toFixed(4))

/**
 * The processor, with the vector extensions that move the ratios: PyTorch's OpenBLAS uses
 * AVX2 or AVX-512 where it has them, morpho's WebAssembly only 128-bit vectors.
 */
function processor() {
  const model = cpus()[0]?.model.trim() ?? 'unknown'
  let flags = []
  try {
    flags =
      readFileSync('/proc/cpuinfo', 'utf8')
        .match(/^flags\s*:(.*)$/m)?.[1]
        .trim()
        .split(/\s+/) ?? []
  } catch {}
  const vectors = ['avx512f', 'avx2', 'fma'].filter((f) => flags.includes(f))
  return `processor: ${model}, ${cpus().length} cores${vectors.length ? `, ${vectors.join(' ')}` : ''}`
}

async function main() {
  const home = await mkdtemp(join(tmpdir(), 'morpho-bench-train-'))
  const started = Date.now()
  try {
    const doctor = await new Promise((resolve) =>
      execFile(
        process.execPath,
        [bin, 'doctor', '--json'],
        {env: {...process.env, NODE_ENV: 'production'}},
        (_e, out) => resolve(JSON.parse(out)),
      ),
    )
    console.log(`# morpho training benchmark${quick ? ' (quick)' : ''}\n`)
    console.log(`node ${process.versions.node}, morpho ${doctor.morpho}, auto backend: ${doctor.backend.name}`)
    console.log(`${processor()}\n`)

    console.log(
      await speedTables(home, {
        rounds: quick ? 1 : 5,
        epochs: quick ? 4 : 6,
        backends: quick ? ['wasm'] : ['wasm', 'cpu'],
        hiddens: [64, 128],
      }),
    )
    if (!quick) {
      // Where an epoch's time goes, through the engine and through the kernel step.
      for (const backend of ['wasm', 'cpu']) {
        console.log(`\n${await profileTable({backend, hidden: 128, epochs: 6, rounds: 3})}`)
      }
    }
    if (speedOnly) return

    const tasks = []
    for (const problem of problems) {
      for (const seeds of ['1', '0']) {
        tasks.push(async () => ({
          problem,
          seeds,
          out: await morpho(
            ['train', '--problem', problem, '--seeds-per-layer', seeds, '--no-register', ...quickFlags],
            home,
          ),
        }))
      }
    }
    for (const seed of spiralSeeds) {
      tasks.push(async () => ({
        problem: 'spirals',
        seed,
        out: await morpho(['train', '--seed', String(seed), '--no-register', ...quickFlags], home),
      }))
    }
    // The same network when its warm-up is cut to the original's 50 epochs: the backbone
    // stalls, and only growth can carry it further.
    const shortWarmUp = quick
      ? ['--warm-up-epochs', '10', '--adaptation-epochs', '20']
      : ['--warm-up-epochs', '50', '--adaptation-epochs', '200']
    for (const seed of spiralSeeds) {
      for (const seeds of ['1', '0']) {
        tasks.push(async () => ({
          short: true,
          seed,
          seeds,
          out: await morpho(
            ['train', '--seed', String(seed), '--seeds-per-layer', seeds, '--no-register', ...shortWarmUp],
            home,
          ),
        }))
      }
    }
    const results = await pool(tasks, jobs)

    console.log('\n## val_acc with default flags, with seeds (1 per layer) and without (0)\n')
    console.log('| problem | val_acc with seeds | germinated | val_acc without | difference | s with | s without |')
    console.log('|---|---:|---:|---:|---:|---:|---:|')
    for (const problem of problems) {
      const a = results.find((r) => r.problem === problem && r.seeds === '1').out.run
      const b = results.find((r) => r.problem === problem && r.seeds === '0').out.run
      const diff = a.summary.val_acc - b.summary.val_acc
      console.log(
        `| ${problem} | ${f4(a.summary.val_acc)} | ${a.summary.seeds_germinated}/${a.summary.seeds_total} | ${f4(b.summary.val_acc)} | ${diff >= 0 ? '+' : ''}${diff.toFixed(4)} | ${a.seconds.toFixed(1)} | ${b.seconds.toFixed(1)} |`,
      )
    }

    console.log('\n## spirals, default flags, several --seed values\n')
    console.log('| --seed | val_acc | best val_acc | germinated | seconds | >= 0.90 |\n|---:|---:|---:|---:|---:|---|')
    for (const r of results.filter((x) => x.seed !== undefined && !x.short)) {
      const s = r.out.run.summary
      console.log(
        `| ${r.seed} | ${f4(s.val_acc)} | ${f4(s.best_val_acc)} | ${s.seeds_germinated}/${s.seeds_total} | ${r.out.run.seconds.toFixed(1)} | ${s.val_acc >= 0.9 ? 'yes' : 'NO'} |`,
      )
    }
    console.log(`\n## spirals with the warm-up cut short (${shortWarmUp.join(' ')}): growth vs none\n`)
    console.log(
      '| --seed | val_acc with seeds | germinated | val_acc without | difference |\n|---:|---:|---:|---:|---:|',
    )
    for (const seed of spiralSeeds) {
      const a = results.find((r) => r.short && r.seed === seed && r.seeds === '1').out.run.summary
      const b = results.find((r) => r.short && r.seed === seed && r.seeds === '0').out.run.summary
      const diff = a.val_acc - b.val_acc
      console.log(
        `| ${seed} | ${f4(a.val_acc)} | ${a.seeds_germinated}/${a.seeds_total} | ${f4(b.val_acc)} | ${diff >= 0 ? '+' : ''}${diff.toFixed(4)} |`,
      )
    }
    console.log(`\nwall time ${((Date.now() - started) / 1000).toFixed(0)} s, ${jobs} job(s) at once`)
  } finally {
    await rm(home, {recursive: true, force: true})
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
