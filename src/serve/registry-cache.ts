import {emptyRegistry, type RegistryModels, readModels} from '../registry/index.js'
import type {Store} from '../store/store.js'

/**
 * The registry document as the server reads it, cached: built again only when the store says
 * the registry changed (a folder: a new inode, size or mtime of registry.json, which writers
 * replace by rename), so a cheap check per look-up is all that /models, the watcher and
 * `model_version` aliases cost.
 */
export class RegistryCache {
  readonly store: Store
  private signature = ''
  private doc: RegistryModels | undefined

  constructor(store: Store) {
    this.store = store
  }

  /** Identifies the registry's current content without reading it ("" when there is none). */
  signatureNow(): Promise<string> {
    return this.store.registry.signature()
  }

  /** The models, their versions, stages and aliases (not the history, which a server never shows). */
  async read(): Promise<RegistryModels> {
    const signature = await this.signatureNow()
    if (this.doc && signature === this.signature) return this.doc
    const doc = signature === '' ? emptyRegistry() : await readModels(this.store)
    this.doc = doc
    this.signature = signature
    return doc
  }
}
