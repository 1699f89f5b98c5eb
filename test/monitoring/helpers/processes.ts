import {type ChildProcess, spawn} from 'node:child_process'
import {createServer} from 'node:net'

/** A port that was free a moment ago (the tools here take a port, not 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

export interface Daemon {
  child: ChildProcess
  output: () => string
  stop: () => Promise<void>
}

/** Starts a long-running tool and keeps its output for failure messages. */
export function startDaemon(command: string, args: string[], options: {cwd?: string} = {}): Daemon {
  const child = spawn(command, args, {cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe']})
  let log = ''
  child.stdout?.on('data', (d: Buffer) => {
    log += d.toString()
  })
  child.stderr?.on('data', (d: Buffer) => {
    log += d.toString()
  })
  child.on('error', (err) => {
    log += `\n${command} failed to start: ${err.message}`
  })
  return {
    child,
    output: () => log,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
        setTimeout(() => child.kill('SIGKILL'), 5_000).unref()
      }),
  }
}

/** Polls until check() returns a value (not undefined), or fails with the last error and the log. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  options: {timeoutMs?: number; intervalMs?: number; log?: () => string} = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000)
  let last: unknown
  for (;;) {
    try {
      const value = await check()
      if (value !== undefined) return value
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline) {
      const reason = last instanceof Error ? last.message : String(last ?? 'no result')
      throw new Error(`Timed out waiting for ${what}: ${reason}\n--- log ---\n${options.log?.() ?? ''}`)
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 250))
  }
}
