import {mkdir, readFile} from 'node:fs/promises'
import {dirname} from 'node:path'
import {type Adapter, Low} from 'lowdb'
import {integrityError} from '../errors.js'
import {writeFileAtomic} from '../store/atomic.js'
import type {StorePaths} from '../store/paths.js'
import {emptyRegistry, findProblem, REGISTRY_SCHEMA_VERSION, type RegistryDocument} from './schema.js'

/**
 * lowdb adapter for registry.json. Reading refuses anything that is not a registry this
 * morpho understands (corrupt, truncated, foreign, newer schema) and never writes in that
 * case, so a file morpho cannot read is left exactly as it was. Writing lands by temp file,
 * fsync and rename: a reader sees the old document or the new one, never half of one.
 */
export class RegistryFile implements Adapter<RegistryDocument> {
  constructor(readonly file: string) {}

  async read(): Promise<RegistryDocument | null> {
    let text: string
    try {
      text = await readFile(this.file, 'utf8')
    } catch (err) {
      // No file yet is an empty registry, not an error.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
      throw err
    }
    return parseRegistry(text, this.file)
  }

  async write(doc: RegistryDocument): Promise<void> {
    await mkdir(dirname(this.file), {recursive: true})
    await writeFileAtomic(this.file, serializeRegistry(doc))
  }
}

export function openRegistry(paths: StorePaths): Low<RegistryDocument> {
  return new Low(new RegistryFile(paths.registryFile), emptyRegistry())
}

/**
 * The registry as it is now, without taking the lock: for read-only commands and the server.
 * Safe because writers only ever replace the file by rename.
 */
export async function readRegistry(paths: StorePaths): Promise<RegistryDocument> {
  const db = openRegistry(paths)
  await db.read()
  return db.data
}

export function serializeRegistry(doc: RegistryDocument): string {
  return `${JSON.stringify(doc, null, 2)}\n`
}

const UNTOUCHED = 'morpho left the file untouched.'

export function parseRegistry(text: string, file: string): RegistryDocument {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (err) {
    throw integrityError(`${file} is not valid JSON (${(err as Error).message}); refusing to read or overwrite it`, {
      hint: `Restore registry.json from a backup, or move it aside to start an empty registry (the registered files under models/ stay). ${UNTOUCHED}`,
      details: {file, reason: 'corrupt'},
    })
  }
  const schemaVersion = (doc as {schemaVersion?: unknown} | null)?.schemaVersion
  if (typeof schemaVersion === 'number' && Number.isInteger(schemaVersion) && schemaVersion > REGISTRY_SCHEMA_VERSION) {
    throw integrityError(
      `${file} has schemaVersion ${schemaVersion}, newer than this morpho understands (${REGISTRY_SCHEMA_VERSION}); refusing to read or overwrite it`,
      {
        hint: `Upgrade morpho to the version that wrote this registry, or point --home / MORPHO_HOME at another store. ${UNTOUCHED}`,
        details: {file, reason: 'newer_schema', schemaVersion, supported: REGISTRY_SCHEMA_VERSION},
      },
    )
  }
  if (schemaVersion !== REGISTRY_SCHEMA_VERSION) {
    throw integrityError(
      `${file} is not a morpho registry (schemaVersion ${JSON.stringify(schemaVersion)}); refusing to read or overwrite it`,
      {
        hint: `Restore registry.json from a backup, or move it aside to start an empty registry. ${UNTOUCHED}`,
        details: {file, reason: 'corrupt'},
      },
    )
  }
  const problem = findProblem(doc)
  if (problem) {
    throw integrityError(`${file} is damaged: ${problem}; refusing to read or overwrite it`, {
      hint: `Restore registry.json from a backup, or repair the field by hand. ${UNTOUCHED}`,
      details: {file, reason: 'corrupt', problem},
    })
  }
  return doc as RegistryDocument
}
