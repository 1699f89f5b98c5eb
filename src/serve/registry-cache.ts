import {emptyRegistry, type RegistryDocument, readRegistry} from '../registry/index.js'
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
  private doc: RegistryDocument | undefined

  constructor(store: Store) {
    this.store = store
  }

  /** Identifies the registry's current content without reading it ("" when there is none). */
  signatureNow(): Promise<string> {
    return this.store.registry.signature()
  }

  async read(): Promise<RegistryDocument> {
    const signature = await this.signatureNow()
    if (this.doc && signature === this.signature) return this.doc
    const doc = signature === '' ? emptyRegistry() : await readRegistry(this.store)
    this.doc = doc
    this.signature = signature
    return doc
  }
}
