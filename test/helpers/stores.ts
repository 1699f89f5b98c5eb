import {inject} from 'vitest'
import {FolderStore} from '../../src/store/folder/folder-store.js'
import {PostgresStore} from '../../src/store/postgres/postgres-store.js'
import type {Store} from '../../src/store/store.js'
import {tempDir} from './cli.js'
import {createDatabase, sql} from './postgres.js'

/**
 * The two backends, for suites that run once per backend (`describe.each(BACKENDS)`): a fresh
 * folder per test, or a database per test file (in the run's one cluster, see
 * test/global-setup.ts) emptied before each test.
 */

export const BACKENDS = ['folder', 'postgres'] as const
export type Backend = (typeof BACKENDS)[number]

export interface TestStore {
  kind: Backend
  store: Store
  /** What --store takes to open this store from a child process. */
  locator: string
  /** The folder of a folder store (else a scratch folder for the test's own files). */
  home: string
  cleanup(): Promise<void>
}

let database: Promise<string> | undefined

/** This test file's database (created on first use). */
export function fileDatabase(): Promise<string> {
  database ??= createDatabase(inject('postgresAdminUrl'), 'morpho_test')
  return database
}

const TABLES = [
  'run_files',
  'run_events',
  'run_metrics',
  'runs',
  'version_files',
  'aliases',
  'history',
  'versions',
  'models',
  'sweeps',
]

export async function openTestStore(kind: Backend): Promise<TestStore> {
  const dir = await tempDir(`morpho-${kind}-`)
  if (kind === 'folder') {
    return {kind, store: new FolderStore(dir.path), locator: dir.path, home: dir.path, cleanup: dir.cleanup}
  }
  const url = await fileDatabase()
  const store = new PostgresStore(url)
  // Creates the schema on first use, then empties it: every test starts from an empty store.
  await store.registry.signature()
  await sql(url, `TRUNCATE ${TABLES.join(', ')} RESTART IDENTITY; UPDATE morpho_schema SET next_seq = 1`)
  return {
    kind,
    store,
    locator: url,
    home: dir.path,
    async cleanup() {
      await store.close()
      await dir.cleanup()
    },
  }
}

/** Flips one byte of a registered version's file in the database, as damage to it would. */
export async function tamperInDatabase(url: string, model: string, version: number, file: string): Promise<void> {
  const [row] = await sql<{bytes: Buffer}>(
    url,
    'SELECT bytes FROM version_files WHERE model = $1 AND version = $2 AND path = $3',
    [model, version, file],
  )
  if (!row) throw new Error(`no file ${file} of ${model} v${version} in the database`)
  row.bytes[0] = (row.bytes[0] ?? 0) ^ 0xff
  await sql(url, 'UPDATE version_files SET bytes = $4 WHERE model = $1 AND version = $2 AND path = $3', [
    model,
    version,
    file,
    row.bytes,
  ])
}
