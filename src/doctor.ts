import {access, constants, stat} from 'node:fs/promises'
import type {BackendRequest} from './config.js'
import {isSingleExecutable} from './runtime.js'
import type {StorePaths} from './store/paths.js'
import {type BackendInfo, loadTf} from './tf/backend.js'

export interface DoctorReport {
  morpho: string
  node: string
  platform: string
  /** How this morpho was installed: an npm package, or the single-file executable. */
  install: 'npm' | 'binary'
  backend: BackendInfo
  store: {path: string; exists: boolean; writable: boolean; registry: boolean}
}

export async function diagnose(options: {
  morphoVersion: string
  backend: BackendRequest
  store: StorePaths
}): Promise<DoctorReport> {
  const {backend} = await loadTf(options.backend)
  return {
    morpho: options.morphoVersion,
    node: process.versions.node,
    platform: `${process.platform}-${process.arch}`,
    install: isSingleExecutable() ? 'binary' : 'npm',
    backend,
    store: {
      path: options.store.home,
      exists: await exists(options.store.home),
      writable: await writable(options.store.home),
      registry: await exists(options.store.registryFile),
    },
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch {
    return false
  }
}

/** The store, or the nearest folder above it that exists, accepts writes. */
async function writable(path: string): Promise<boolean> {
  let current = path
  for (;;) {
    try {
      await access(current, constants.W_OK)
      return true
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return false
      const parent = current.replace(/\/[^/]+\/?$/, '') || '/'
      if (parent === current) return false
      current = parent
    }
  }
}
