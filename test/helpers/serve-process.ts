import type {ChildProcess} from 'node:child_process'
import {spawnCli} from './cli.js'

/** `morpho serve …` as a child process of the built CLI, once it says where it listens. */
export async function startServeProcess(args: string[]): Promise<{child: ChildProcess; url: string}> {
  const child = spawnCli(['serve', ...args])
  const url = await new Promise<string>((resolve, reject) => {
    let seen = ''
    const look = (d: Buffer) => {
      seen += d
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(seen)
      if (m) resolve(m[1]!)
    }
    child.stdout!.on('data', look)
    child.stderr!.on('data', look)
    child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${seen}`)))
  })
  return {child, url}
}
