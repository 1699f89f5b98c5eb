// What the benchmark scripts share: running the built CLI and a pool of concurrent tasks.
import {execFile} from 'node:child_process'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const bin = join(root, 'bin', 'run.js')

/** `morpho ARGS --home HOME --json --quiet`, resolving its parsed JSON; a failure names the reason. */
export function morpho(args, home, env = {}) {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [bin, ...args, '--home', home, '--json', '--quiet'],
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
