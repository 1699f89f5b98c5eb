#!/usr/bin/env node
// Start-up time of the installed CLI against `node -e 0` in the same run: `morpho --version`
// and `morpho list` (a store with one registered version), interleaved round by round so
// machine load falls on every case alike; medians and their ratio to node. With
// `--baseline DIR` (another morpho checkout, built), its CLI is timed in the same rounds.
//
//   npm run bench:startup [-- --runs 21] [-- --baseline /path/to/other/morpho]
import {execFileSync, spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {loadavg, tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const arg = (name, fallback) => {
  const at = process.argv.indexOf(name)
  return at > 0 ? process.argv[at + 1] : fallback
}
const runs = Number(arg('--runs', '21'))
const baseline = arg('--baseline')
const home = mkdtempSync(join(tmpdir(), 'morpho-bench-startup-'))
const env = {...process.env, NODE_ENV: 'production', MORPHO_HOME: home, NO_COLOR: '1', MORPHO_BACKEND: 'wasm'}
const cli = (dir) => [process.execPath, join(dir, 'bin', 'run.js')]
const morpho = cli(root)

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
function wall(cmd, args) {
  const started = process.hrtime.bigint()
  const r = spawnSync(cmd[0], [...cmd.slice(1), ...args], {env, stdio: 'ignore'})
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  if (r.status !== 0) throw new Error(`${cmd.join(' ')} ${args.join(' ')} exited ${r.status}`)
  return ms
}

try {
  // One registered version, so `list` reads and prints a real registry.
  execFileSync(
    morpho[0],
    [
      morpho[1],
      'train',
      ...['--samples', '240', '--hidden-dim', '8', '--num-layers', '2'],
      ...['--warm-up-epochs', '2', '--adaptation-epochs', '1', '--register-at', '0', '--quiet'],
    ],
    {env, stdio: 'ignore'},
  )
  const cases = [
    ['node -e 0', [process.execPath], ['-e', '0']],
    ['morpho --version', morpho, ['--version']],
    ['morpho list', morpho, ['list']],
  ]
  if (baseline) {
    const other = cli(resolve(baseline))
    cases.push(['baseline --version', other, ['--version']], ['baseline list', other, ['list']])
  }
  const times = new Map(cases.map(([name]) => [name, []]))
  for (const [, cmd, args] of cases) wall(cmd, args) // warm the file cache (and write V8's code cache)
  const load = [loadavg()[0]]
  for (let i = 0; i < runs; i++) for (const [name, cmd, args] of cases) times.get(name).push(wall(cmd, args))
  load.push(loadavg()[0])

  const node = median(times.get('node -e 0'))
  console.log('# start-up\n')
  console.log(
    `node ${process.versions.node}; median of ${runs} interleaved runs; 1-minute load ${load.map((l) => l.toFixed(2)).join(' → ')}${baseline ? `; baseline ${resolve(baseline)}` : ''}\n`,
  )
  console.log('| case | median ms | min ms | × node -e 0 |\n|---|---:|---:|---:|')
  for (const [name] of cases) {
    const t = times.get(name)
    console.log(
      `| ${name} | ${median(t).toFixed(0)} | ${Math.min(...t).toFixed(0)} | ${(median(t) / node).toFixed(2)} |`,
    )
  }
} finally {
  rmSync(home, {recursive: true, force: true})
}
