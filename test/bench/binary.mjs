#!/usr/bin/env node
// The single executable against the npm install, in the same run: file size, start-up time
// of `--version` and `list` (median of several runs, `node -e 0` as the floor), and training
// seconds per epoch of the default architecture. Needs build/morpho (npm run build:binary).
import {execFileSync, spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const binary = join(root, 'build', 'morpho')
if (!existsSync(binary)) {
  console.error('build/morpho is missing: run `npm run build:binary` first')
  process.exit(1)
}
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 11
const home = mkdtempSync(join(tmpdir(), 'morpho-bench-binary-'))
const env = {...process.env, NODE_ENV: 'production', MORPHO_HOME: home, NO_COLOR: '1'}
const npm = [process.execPath, join(root, 'bin', 'run.js')]
const sea = [binary]

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
function wall(cmd, args) {
  const started = process.hrtime.bigint()
  const r = spawnSync(cmd[0], [...cmd.slice(1), ...args], {env, stdio: 'ignore'})
  if (r.status !== 0) throw new Error(`${cmd.join(' ')} ${args.join(' ')} exited ${r.status}`)
  return Number(process.hrtime.bigint() - started) / 1e6
}

try {
  // A registry with one version, so `list` has something to read.
  execFileSync(
    npm[0],
    [
      npm[1],
      'train',
      '--samples',
      '240',
      '--hidden-dim',
      '8',
      '--num-layers',
      '2',
      '--warm-up-epochs',
      '2',
      '--adaptation-epochs',
      '1',
      '--register-at',
      '0',
      '--quiet',
    ],
    {env, stdio: 'ignore'},
  )

  const cases = [
    ['node -e 0', [process.execPath], ['-e', '0']],
    ['npm install: --version', npm, ['--version']],
    ['binary: --version', sea, ['--version']],
    ['npm install: list', npm, ['list']],
    ['binary: list', sea, ['list']],
  ]
  const times = new Map(cases.map(([name]) => [name, []]))
  for (const [, cmd, args] of cases) wall(cmd, args) // warm the file cache
  // Interleaved rounds, so machine load falls on every case alike.
  for (let i = 0; i < runs; i++) for (const [name, cmd, args] of cases) times.get(name).push(wall(cmd, args))

  const epoch = (cmd) => {
    execFileSync(
      cmd[0],
      [...cmd.slice(1), 'train', '--warm-up-epochs', '6', '--adaptation-epochs', '0', '--no-register', '--quiet'],
      {env, stdio: 'ignore'},
    )
    const newest = readdirSync(join(home, 'runs')).sort(
      (a, b) => statSync(join(home, 'runs', b)).mtimeMs - statSync(join(home, 'runs', a)).mtimeMs,
    )[0]
    const lines = readFileSync(join(home, 'runs', newest, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
    return median(lines.slice(1).map((l) => JSON.parse(l).seconds))
  }
  const epochNpm = epoch(npm)
  const epochSea = epoch(sea)

  console.log(`# single executable vs npm install\n`)
  console.log(
    `node ${process.versions.node}; build/morpho is ${(statSync(binary).size / 1024 / 1024).toFixed(1)} MB; median of ${runs} runs\n`,
  )
  console.log('| case | median ms | min ms |\n|---|---:|---:|')
  for (const [name] of cases) {
    const t = times.get(name)
    console.log(`| ${name} | ${median(t).toFixed(0)} | ${Math.min(...t).toFixed(0)} |`)
  }
  const ratio = (a, b) => (median(times.get(a)) / median(times.get(b))).toFixed(2)
  console.log(
    `\nbinary / npm: --version ${ratio('binary: --version', 'npm install: --version')}, list ${ratio('binary: list', 'npm install: list')}`,
  )
  console.log(`\n| training, default architecture (wasm) | s/epoch |\n|---|---:|`)
  console.log(`| npm install | ${epochNpm.toFixed(3)} |\n| binary | ${epochSea.toFixed(3)} |`)
  console.log(`\nbinary / npm: ${(epochSea / epochNpm).toFixed(2)}`)
} finally {
  rmSync(home, {recursive: true, force: true})
}
