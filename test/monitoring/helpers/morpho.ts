import type {ChildProcess} from 'node:child_process'
import {spawnCli} from '../../helpers/cli.js'

/** The built CLI as a long-running process: `morpho serve`, or a training run being watched. */
export interface RunningMorpho {
  child: ChildProcess
  /** The first group of the line waited for: the URL the process printed. */
  found: string
  /** stdout and stderr so far, for failure messages. */
  output(): string
  /** Sends the signal and resolves with the exit code (the signal's name if it was killed). */
  stop(signal?: NodeJS.Signals): Promise<number | string>
}

/**
 * Starts `morpho <args>` and waits, with a deadline, for the line that says it is ready (its
 * address): it prints the address it really bound, so port 0 can be used and no port guessed.
 */
export function startMorpho(
  args: string[],
  ready: RegExp,
  options: {env?: Record<string, string | undefined>; timeoutMs?: number} = {},
): Promise<RunningMorpho> {
  const child = spawnCli(args, {env: options.env})
  let log = ''
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  )
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(signal)
      // A process that ignores the signal must not outlive the test.
      const hard = setTimeout(() => child.kill('SIGKILL'), 15_000)
      hard.unref()
      const result = await exited
      clearTimeout(hard)
      return result
    }
    return exited
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop('SIGKILL')
      reject(new Error(`morpho ${args[0]} printed no line matching ${ready} in time:\n${log}`))
    }, options.timeoutMs ?? 30_000)
    const collect = (d: Buffer) => {
      log += d.toString()
      const match = ready.exec(log)
      if (match) {
        clearTimeout(timer)
        resolve({child, found: match[1] ?? match[0], output: () => log, stop})
      }
    }
    child.stdout?.on('data', collect)
    child.stderr?.on('data', collect)
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`morpho ${args[0]} exited (${code}) before it was ready:\n${log}`))
    })
  })
}
