import {execFileSync} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {open} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

/**
 * A real, small tmpfs for disk-full and read-only cases. Mounting needs root (or
 * CAP_SYS_ADMIN); `TMPFS_UNAVAILABLE` says why it cannot be mounted here, for a skip that
 * states its reason.
 */

function probe(): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'morpho-tmpfs-probe-'))
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], {stdio: 'pipe'})
    execFileSync('umount', [dir], {stdio: 'pipe'})
    return undefined
  } catch (err) {
    const stderr = String((err as {stderr?: Buffer}).stderr ?? (err as Error).message).trim()
    return `mounting a tmpfs is refused here (${stderr || 'mount failed'})`
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}

export const TMPFS_UNAVAILABLE = probe()

export interface Tmpfs {
  path: string
  /** Writes zeros into `name` until the filesystem has not one byte left. */
  fill(name?: string): Promise<void>
  readOnly(): void
  cleanup(): void
}

export function mountTmpfs(size: string): Tmpfs {
  const path = mkdtempSync(join(tmpdir(), 'morpho-tmpfs-'))
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', path], {stdio: 'pipe'})
  return {
    path,
    async fill(name = 'filler') {
      const handle = await open(join(path, name), 'a')
      try {
        // Big pieces first, then ever smaller ones, until not even one byte fits.
        for (const piece of [1 << 20, 1 << 16, 1 << 12, 1]) {
          const zeros = Buffer.alloc(piece)
          for (;;) {
            try {
              const {bytesWritten} = await handle.write(zeros)
              if (bytesWritten < piece) break
            } catch (err) {
              if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err
              break
            }
          }
        }
      } finally {
        await handle.close()
      }
    },
    readOnly() {
      execFileSync('mount', ['-o', 'remount,ro', path], {stdio: 'pipe'})
    },
    cleanup() {
      execFileSync('umount', ['-l', path], {stdio: 'pipe'})
      rmSync(path, {recursive: true, force: true})
    },
  }
}
