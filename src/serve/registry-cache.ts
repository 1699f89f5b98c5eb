import {stat} from 'node:fs/promises'
import {emptyRegistry, type RegistryDocument, readRegistry} from '../registry/index.js'
import type {StorePaths} from '../store/paths.js'

/**
 * The registry document as the server reads it, cached: parsed again only when registry.json
 * changed. Writers replace the file by rename, so a new inode, size or mtime means a new
 * document; a stat per look-up is all that /models, the watcher and `model_version` aliases cost.
 */
export class RegistryCache {
  readonly paths: StorePaths
  private signature = ''
  private doc: RegistryDocument | undefined

  constructor(paths: StorePaths) {
    this.paths = paths
  }

  /** Identifies the file's current content without reading it ("" when there is no file). */
  async signatureNow(): Promise<string> {
    try {
      const s = await stat(this.paths.registryFile, {bigint: true})
      return `${s.ino}:${s.size}:${s.mtimeNs}`
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return ''
      throw err
    }
  }

  async read(): Promise<RegistryDocument> {
    const signature = await this.signatureNow()
    if (this.doc && signature === this.signature) return this.doc
    const doc = signature === '' ? emptyRegistry() : await readRegistry(this.paths)
    this.doc = doc
    this.signature = signature
    return doc
  }
}
