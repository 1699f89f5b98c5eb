import type {BackendRequest} from './config.js'
import {isSingleExecutable} from './runtime.js'
import type {Store, StoreStatus} from './store/store.js'
import {type BackendInfo, loadTf} from './tf/backend.js'

export interface DoctorReport {
  morpho: string
  node: string
  platform: string
  /** How this morpho was installed: an npm package, or the single-file executable. */
  install: 'npm' | 'binary'
  backend: BackendInfo
  store: StoreStatus
}

export async function diagnose(options: {
  morphoVersion: string
  backend: BackendRequest
  store: Store
}): Promise<DoctorReport> {
  const {backend} = await loadTf(options.backend)
  return {
    morpho: options.morphoVersion,
    node: process.versions.node,
    platform: `${process.platform}-${process.arch}`,
    install: isSingleExecutable() ? 'binary' : 'npm',
    backend,
    store: await options.store.status(),
  }
}
