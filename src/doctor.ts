import type {BackendRequest} from './config.js'
import {isSingleExecutable} from './runtime.js'
import type {Store, StoreStatus} from './store/store.js'
import {type BackendInfo, loadTf} from './tf/backend.js'
import {stepThreads} from './training/product-thread.js'

export interface DoctorReport {
  morpho: string
  node: string
  platform: string
  /** How this morpho was installed: an npm package, or the single-file executable. */
  install: 'npm' | 'binary'
  /** The backend that loaded, and `threads`: how many a training step on it may use. */
  backend: BackendInfo & {threads: number}
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
    backend: {...backend, threads: stepThreads(backend.name)},
    store: await options.store.status(),
  }
}
