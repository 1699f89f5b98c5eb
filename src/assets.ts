import {readFile} from 'node:fs/promises'

/**
 * Files the package ships beside its code (the web page, its chart library). From an npm
 * install they are read from disk; a single-file build hands in a source that reads them
 * from the executable itself.
 */

type AssetSource = (key: string) => Uint8Array | undefined

let embedded: AssetSource | undefined

export function setAssetSource(source: AssetSource): void {
  embedded = source
}

/** The asset `key` from the executable when it carries one, else the file at `path`. */
export async function readAsset(key: string, path: string): Promise<Uint8Array> {
  const inside = embedded?.(key)
  if (inside) return inside
  return readFile(path)
}
