import type {StoreLocator} from '../config.js'
import {FolderStore} from './folder/folder-store.js'
import type {Store} from './store.js'

/** Opens the store a locator names. A database store connects on first use; close() ends it. */
export async function openStore(locator: StoreLocator): Promise<Store> {
  if (locator.kind === 'folder') return new FolderStore(locator.home)
  const {PostgresStore} = await import('./postgres/postgres-store.js')
  return new PostgresStore(locator.url)
}
