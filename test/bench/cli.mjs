// What the benchmark scripts share: running the built CLI and a pool of concurrent tasks.
import {execFile} from 'node:child_process'
import {mkdtemp, readFile, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
export const root = join(here, '..', '..')
export const bin = join(root, 'bin', 'run.js')

/**
 * `morpho ARGS --home HOME --json --quiet`, resolving its parsed JSON; a failure names the reason.
 * `node` holds options for the node process itself (before the CLI's path).
 */
export function morpho(args, home, env = {}, node = []) {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [...node, bin, ...args, '--home', home, '--json', '--quiet'],
      {env: {...process.env, NODE_ENV: 'production', ...env}, maxBuffer: 1 << 26},
      (err, stdout, stderr) => {
        if (err) {
          let reason = stderr || stdout
          try {
            reason = JSON.parse(stdout).error.message
          } catch {}
          return reject(Object.assign(new Error(`morpho ${args.join(' ')} failed (${err.code}): ${reason}`), {reason}))
        }
        resolve(JSON.parse(stdout))
      },
    )
  })
}

/**
 * `morpho(...)` measured from outside: `{out, wall, cpu}` — the child process's wall seconds and
 * its CPU seconds (user + system, every thread, start-up included), which the load of other
 * processes on the machine changes far less than wall time.
 */
export async function timedMorpho(args, home, env = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'morpho-bench-cpu-'))
  const file = join(dir, 'cpu.json')
  const started = performance.now()
  try {
    const out = await morpho(args, home, {...env, MORPHO_BENCH_CPU_OUT: file}, [
      '--require',
      join(here, 'cpu-usage.cjs'),
    ])
    const wall = (performance.now() - started) / 1000
    const {user, system} = JSON.parse(await readFile(file, 'utf8'))
    return {out, wall, cpu: (user + system) / 1e6}
  } finally {
    await rm(dir, {recursive: true, force: true})
  }
}

export async function pool(tasks, width) {
  const results = new Array(tasks.length)
  let next = 0
  await Promise.all(
    Array.from({length: width}, async () => {
      while (next < tasks.length) {
        const i = next++
        results[i] = await tasks[i]()
      }
    }),
  )
  return results
}
