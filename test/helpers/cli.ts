import {execFile, spawn} from 'node:child_process'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'

export const ROOT = resolve(import.meta.dirname, '../..')
export const BIN = join(ROOT, 'bin', 'run.js')

/** Training flags for a run well under a second: 240 rows, a 2 × 8 network, 6 epochs. */
export const TINY = [
  ...['--samples', '240', '--hidden-dim', '8', '--num-layers', '2'],
  ...['--warm-up-epochs', '3', '--adaptation-epochs', '3', '--batch-size', '32'],
]

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

/**
 * Runs the built CLI (dist/) as a child process. NODE_ENV=production stops oclif from
 * mapping back to the TypeScript sources, so this exercises what a user installs.
 */
export function runCli(
  args: string[],
  options: {
    env?: Record<string, string | undefined>
    input?: string
    cwd?: string
    timeoutMs?: number
    /** Run as this user and group (the test must be root). */
    uid?: number
    gid?: number
  } = {},
): Promise<CliResult> {
  return new Promise((resolvePromise) => {
    const child = execFile(
      process.execPath,
      [BIN, ...args],
      {
        cwd: options.cwd ?? ROOT,
        env: {...process.env, NODE_ENV: 'production', NO_COLOR: '1', MORPHO_BACKEND: 'wasm', ...options.env},
        timeout: options.timeoutMs ?? 120_000,
        maxBuffer: 64 * 1024 * 1024,
        ...(options.uid === undefined ? {} : {uid: options.uid, gid: options.gid ?? options.uid}),
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
        resolvePromise({code, stdout, stderr})
      },
    )
    if (options.input !== undefined) child.stdin?.end(options.input)
    else child.stdin?.end()
  })
}

/** Starts the built CLI without waiting for it (servers, interrupted runs). */
export function spawnCli(
  args: string[],
  options: {
    env?: Record<string, string | undefined>
    cwd?: string
    /** In a process group of its own (as a terminal's foreground job is): signal it with kill(-pid). */
    detached?: boolean
  } = {},
) {
  return spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? ROOT,
    env: {...process.env, NODE_ENV: 'production', NO_COLOR: '1', MORPHO_BACKEND: 'wasm', ...options.env},
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  })
}

export async function tempDir(prefix = 'morpho-test-'): Promise<{path: string; cleanup: () => Promise<void>}> {
  const path = await mkdtemp(join(tmpdir(), prefix))
  return {path, cleanup: () => rm(path, {recursive: true, force: true})}
}

export function parseJson<T = unknown>(stdout: string): T {
  try {
    return JSON.parse(stdout) as T
  } catch (err) {
    throw new Error(`stdout is not JSON: ${(err as Error).message}\n---\n${stdout.slice(0, 2000)}`)
  }
}
