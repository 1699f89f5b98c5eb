import {createRequire} from 'node:module'

/**
 * How to start this same morpho again as a child process: `node bin/run.js …` from an npm
 * install, or the executable itself when running as a single-file binary.
 */
export function selfCommand(): {file: string; args: string[]} {
  return isSingleExecutable() ? {file: process.execPath, args: []} : {file: process.execPath, args: [process.argv[1]]}
}

export function isSingleExecutable(): boolean {
  try {
    const sea = createRequire(import.meta.url)('node:sea') as {isSea?: () => boolean}
    return sea.isSea?.() === true
  } catch {
    return false
  }
}

/** Whether a process with this pid runs on this host (one of another user's counts: EPERM). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
