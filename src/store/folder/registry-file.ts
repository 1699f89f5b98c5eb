import {readFile} from 'node:fs/promises'
import {dirname} from 'node:path'
import type {Adapter, Low} from 'lowdb'
import {integrityError} from '../../errors.js'
import {emptyRegistry, findProblem, REGISTRY_SCHEMA_VERSION, type RegistryDocument} from '../../registry/schema.js'
import {printable} from '../../text.js'
import {makeDirs, withPath, writeFileAtomic} from '../atomic.js'

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
      throw withPath(err, this.file)
    }
    return parseRegistry(text, this.file)
  }

  async write(doc: RegistryDocument): Promise<void> {
    await makeDirs(dirname(this.file))
    await writeFileAtomic(this.file, serializeRegistry(doc))
  }
}

/** The registry as a lowdb document, for a write under the lock (lowdb loads only then). */
export async function openRegistryFile(file: string): Promise<Low<RegistryDocument>> {
  const {Low} = await import('lowdb')
  return new Low(new RegistryFile(file), emptyRegistry())
}

/**
 * The registry as it is now, without taking the lock: for reads. Safe because writers only
 * ever replace the file by rename; a read needs no lowdb, only the file.
 */
export async function readRegistryFile(file: string): Promise<RegistryDocument> {
  return (await new RegistryFile(file).read()) ?? emptyRegistry()
}

/**
 * Objects are spread over lines and indented; every array item (a version, a history entry)
 * is one line. At 10,000 versions that is 40% smaller and faster to parse than fully indented
 * JSON, a change to a version is a one-line diff, and `grep` finds a version with its fields.
 */
export function serializeRegistry(doc: RegistryDocument): string {
  return `${layout(doc, '')}\n`
}

function layout(value: unknown, indent: string): string {
  const inner = `${indent}  `
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]'
    return `[\n${value.map((item) => inner + (JSON.stringify(item) ?? 'null')).join(',\n')}\n${indent}]`
  }
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>
    const keys = Object.keys(record).filter((k) => record[k] !== undefined)
    if (keys.length === 0) return '{}'
    return `{\n${keys.map((k) => `${inner}${JSON.stringify(k)}: ${layout(record[k], inner)}`).join(',\n')}\n${indent}}`
  }
  return JSON.stringify(value) ?? 'null'
}

const UNTOUCHED = 'morpho left the file untouched.'

export function parseRegistry(text: string, file: string): RegistryDocument {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (err) {
    // The parser quotes the file's bytes, which may be escape sequences: never hand them to a terminal.
    throw integrityError(
      `${file} is not valid JSON (${printable((err as Error).message)}); refusing to read or overwrite it`,
      {
        hint: `Restore registry.json from a backup, or move it aside to start an empty registry (the registered files under models/ stay). ${UNTOUCHED}`,
        details: {file, reason: 'corrupt'},
      },
    )
  }
  const schemaVersion = (doc as {schemaVersion?: unknown} | null)?.schemaVersion
  if (typeof schemaVersion === 'number' && Number.isInteger(schemaVersion) && schemaVersion > REGISTRY_SCHEMA_VERSION) {
    throw integrityError(
      `${file} has schemaVersion ${schemaVersion}, newer than this morpho understands (${REGISTRY_SCHEMA_VERSION}); refusing to read or overwrite it`,
      {
        hint: `Upgrade morpho to the version that wrote this registry, or point --store / --home at another store. ${UNTOUCHED}`,
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
  const found = findProblem(doc)
  const problem = found === undefined ? undefined : printable(found)
  if (problem) {
    throw integrityError(`${file} is damaged: ${problem}; refusing to read or overwrite it`, {
      hint: `Restore registry.json from a backup, or repair the field by hand. ${UNTOUCHED}`,
      details: {file, reason: 'corrupt', problem},
    })
  }
  return doc as RegistryDocument
}
