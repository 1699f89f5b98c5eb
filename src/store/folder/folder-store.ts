import {randomBytes} from 'node:crypto'
import {
  access,
  constants,
  type FileHandle,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  rmdir,
  stat,
} from 'node:fs/promises'
import {hostname} from 'node:os'
import {basename, dirname, join} from 'node:path'
import {isMorphoError, MorphoError, notFound} from '../../errors.js'
import {folderHint} from '../../registry/manifest.js'
import {getModel, type HistoryEntry, REGISTRY_SCHEMA_VERSION, type RegistryDocument} from '../../registry/schema.js'
import {isAlive} from '../../runtime.js'
import {newestRunFirst, newRunId, parseJsonl, parseRunRecord} from '../../tracking/runs.js'
import type {RunEvent, RunRecord} from '../../tracking/types.js'
import type {EpochMetrics} from '../../training/types.js'
import {fsyncDir, makeDirs, withPath, writeFileAtomic} from '../atomic.js'
import {assertNotLink, type ModelFiles, readStoreText, readTree, replaceTree, writeTree} from '../files.js'
import {removeFolders, strayVersionFolders} from '../gc.js'
import {assertSafeId, isSafeId, StorePaths, within} from '../paths.js'
import type {
  CollectedFiles,
  RegistryReadTx,
  RegistryStore,
  RegistryWriteTx,
  RunDetails,
  RunListing,
  RunStore,
  RunWriter,
  StagedVersion,
  Store,
  StoredRun,
  StoreStatus,
  SweepStore,
} from '../store.js'

/**
 * The embedded store: a folder (registry.json, runs/<id>/, models/<name>/<version>/).
 * registry.json is a lowdb document written under an inter-process lock by temp file + fsync +
 * rename; runs and registered versions are folders of files.
 */
export class FolderStore implements Store {
  readonly kind = 'folder' as const
  readonly paths: StorePaths
  readonly registry: FolderRegistry
  readonly runs: FolderRuns
  readonly sweeps: FolderSweeps

  constructor(home: string) {
    this.paths = new StorePaths(home)
    this.registry = new FolderRegistry(this.paths)
    this.runs = new FolderRuns(this.paths)
    this.sweeps = new FolderSweeps(this.paths)
  }

  get home(): string {
    return this.paths.home
  }

  get location(): string {
    return this.paths.home
  }

  /** The locator a child process is given (MORPHO_STORE) to open this same store. */
  connectionString(): string {
    return this.paths.home
  }

  async status(): Promise<StoreStatus> {
    return {
      kind: 'folder',
      path: this.paths.home,
      exists: await exists(this.paths.home),
      writable: await writable(this.paths.home),
      registry: await exists(this.paths.registryFile),
    }
  }

  async init(): Promise<{schemaVersion: number; created: boolean}> {
    const created = !(await exists(this.paths.home))
    await mkdir(this.paths.home, {recursive: true})
    return {schemaVersion: REGISTRY_SCHEMA_VERSION, created}
  }

  async close(): Promise<void> {}
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch {
    return false
  }
}

/** The store, or the nearest folder above it that exists, accepts writes. */
async function writable(path: string): Promise<boolean> {
  let current = path
  for (;;) {
    try {
      await access(current, constants.W_OK)
      return true
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return false
      const parent = current.replace(/\/[^/]+\/?$/, '') || '/'
      if (parent === current) return false
      current = parent
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Registry

// Loaded when first needed: `runs list` and the like need neither lowdb nor the lock, and
// reads (`list`, `runs list`'s versions) no lowdb either.
const registryFile = () => import('./registry-file.js')
const lockModule = () => import('../../registry/lock.js')

function documentReader(doc: RegistryDocument): RegistryReadTx {
  return {
    modelNames: async () => Object.keys(doc.models).sort(),
    model: async (name) => getModel(doc, name),
    history: async (model) => (model === undefined ? doc.history : doc.history.filter((e) => e.model === model)),
  }
}

class FolderStaged implements StagedVersion {
  constructor(
    readonly dir: string,
    private readonly modelDir: string,
  ) {}

  async discard(): Promise<void> {
    await rm(this.dir, {recursive: true, force: true})
    await removeDeadCopies(this.modelDir)
    // A registration refused before its first version leaves no empty models/<name>/ behind.
    // rmdir removes only an empty folder: a version, or another writer's copy, keeps it.
    await rmdir(this.modelDir).catch(() => undefined)
    // And, the same way, no empty models/ in a store that had none.
    await rmdir(dirname(this.modelDir)).catch(() => undefined)
  }
}

export class FolderRegistry implements RegistryStore {
  constructor(readonly paths: StorePaths) {}

  get file(): string {
    return this.paths.registryFile
  }

  async signature(): Promise<string> {
    try {
      const s = await stat(this.paths.registryFile, {bigint: true})
      return `${s.ino}:${s.size}:${s.mtimeNs}`
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return ''
      throw err
    }
  }

  async read<T>(fn: (tx: RegistryReadTx) => Promise<T>): Promise<T> {
    const {readRegistryFile} = await registryFile()
    return fn(documentReader(await readRegistryFile(this.paths.registryFile)))
  }

  async write<T>(fn: (tx: RegistryWriteTx) => Promise<T>): Promise<T> {
    const {paths} = this
    const [{withLock}, {openRegistryFile}] = await Promise.all([lockModule(), registryFile()])
    return withLock(paths.registryLock, async (lock) => {
      await removeDeadTempFiles(paths)
      const db = await openRegistryFile(paths.registryFile)
      await db.read()
      const doc = db.data
      const before = doc.history.length
      // Files moved into place, taken out again if the registry write then fails.
      const undo: (() => Promise<void>)[] = []
      const tx: RegistryWriteTx = {
        ...documentReader(doc),
        time: new Date().toISOString(),
        insertModel: async (model) => {
          doc.models[model.name] = model
        },
        insertVersion: async (model, entry, staged) => {
          const dir = this.versionDir(model.name, entry)
          // A folder here is not in the registry (the number was never handed out): a writer
          // crashed between moving its copy into place and recording it. Replace it.
          await rm(dir, {recursive: true, force: true})
          await rename((staged as FolderStaged).dir, dir)
          await fsyncDir(paths.modelDir(model.name))
          undo.push(() => rm(dir, {recursive: true, force: true}))
        },
        // The records handed out are the document's own: changing them is the change.
        updateVersion: async () => {},
        updateAlias: async () => {},
        // The entry is already out of the document; its folder stays until collectGarbage.
        deleteVersion: async () => {},
        appendHistory: async (entry) => {
          const full: HistoryEntry = {seq: (doc.history.at(-1)?.seq ?? 0) + 1, ...entry}
          doc.history.push(full)
          return full
        },
      }
      const undoAll = async () => {
        for (const step of undo.reverse()) await step().catch(() => undefined)
      }
      let result: T
      try {
        result = await fn(tx)
        if (doc.history.length === before) return result
        lock.assertHeld()
        await db.write()
      } catch (err) {
        await undoAll()
        throw err
      }
      return result
    })
  }

  /**
   * The copy is made outside the lock in a private folder; under the lock it is only renamed
   * into place, so concurrent registrations wait on each other for milliseconds, not for a copy.
   */
  async stageVersion(model: string, files: ModelFiles): Promise<StagedVersion> {
    const modelDir = this.paths.modelDir(model)
    await makeDirs(modelDir)
    const dir = join(modelDir, `.incoming.${hostname()}.${process.pid}.${randomBytes(4).toString('hex')}`)
    const staged = new FolderStaged(dir, modelDir)
    try {
      await writeTree(dir, files, 0o444)
    } catch (err) {
      await staged.discard()
      throw err
    }
    return staged
  }

  versionFiles(_model: string, entry: {path: string}): Promise<ModelFiles> {
    return readTree(this.versionDir(_model, entry))
  }

  versionDir(_model: string, entry: {path: string}): string {
    return within(this.paths.home, ...entry.path.split('/'))
  }

  async materialize(model: string, entry: {path: string}): Promise<string> {
    return this.versionDir(model, entry)
  }

  describeVersion(model: string, entry: {path: string}): string {
    return folderHint(this.versionDir(model, entry))
  }

  /** Under the registry's lock, so no writer is moving a version into place meanwhile. */
  async collectGarbage(options: {dryRun: boolean}): Promise<CollectedFiles[]> {
    const [{withLock}, {readRegistryFile}] = await Promise.all([lockModule(), registryFile()])
    return withLock(this.paths.registryLock, async () => {
      const doc = await readRegistryFile(this.paths.registryFile)
      const found = await strayVersionFolders(this.paths.modelsDir, async (name) => getModel(doc, name), isDeadCopy)
      if (!options.dryRun) await removeFolders(found)
      return found
    })
  }
}

/**
 * Temp files of registry writes that never reached their rename (the writer was killed).
 * Only the lock holder writes the registry, so while we hold it any such file is garbage.
 */
async function removeDeadTempFiles(paths: StorePaths): Promise<void> {
  const prefix = `.${basename(paths.registryFile)}.`
  const names = await readdir(paths.home).catch(() => [] as string[])
  for (const name of names) {
    if (name.startsWith(prefix) && name.endsWith('.tmp')) await rm(join(paths.home, name), {force: true})
  }
}

/**
 * Private copy folders left by writers on this machine that were killed mid-copy (their pid is
 * gone). Folders from other hosts sharing the store are left alone: their pids mean nothing here.
 */
async function removeDeadCopies(modelDir: string): Promise<void> {
  const names = await readdir(modelDir).catch(() => [] as string[])
  for (const name of names) {
    if (isDeadCopy(name)) await rm(join(modelDir, name), {recursive: true, force: true}).catch(() => undefined)
  }
}

function isDeadCopy(name: string): boolean {
  const match = /^\.incoming\.(.+)\.(\d+)\.[0-9a-f]+$/.exec(name)
  const pid = Number(match?.[2])
  return match !== null && match[1] === hostname() && pid > 0 && pid !== process.pid && !isAlive(pid)
}

// ---------------------------------------------------------------------------------------------
// Runs

/**
 * runs/<id>/: run.json is always replaced atomically; the two .jsonl files are appended one
 * whole line per write, and readers skip a torn last line. The folder is created with an
 * exclusive mkdir, so two runs can never share one.
 */
export class FolderRuns implements RunStore {
  constructor(readonly paths: StorePaths) {}

  async create(problem: string): Promise<RunWriter> {
    await makeDirs(this.paths.runsDir)
    for (let attempt = 0; ; attempt++) {
      const id = newRunId(problem)
      const dir = this.paths.runDir(id)
      try {
        await mkdir(dir)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 20) throw err
        continue
      }
      return new FolderRunWriter(id, dir)
    }
  }

  async put(run: StoredRun): Promise<void> {
    const {id} = run.record
    const dir = this.paths.runDir(id)
    await mkdir(this.paths.runsDir, {recursive: true})
    try {
      await mkdir(dir)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new MorphoError('CONFLICT', `run "${id}" is already in ${this.paths.runsDir}`, {details: {runId: id}})
      }
      throw err
    }
    const lines = (items: unknown[]) => items.map((item) => `${JSON.stringify(item)}\n`).join('')
    await writeFileAtomic(join(dir, 'metrics.jsonl'), lines(run.metrics))
    await writeFileAtomic(join(dir, 'events.jsonl'), lines(run.events))
    if (run.model) await writeTree(within(dir, run.record.model ?? 'model'), run.model)
    // The record last: a run without its record is one being created, which readers pass over.
    await writeFileAtomic(join(dir, 'run.json'), `${JSON.stringify(run.record, null, 2)}\n`)
  }

  async get(id: string): Promise<RunRecord> {
    const file = this.paths.runFile(id, 'run.json')
    let text: string
    try {
      await assertNotLink(this.paths.runDir(id))
      text = await readStoreText(file)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw runNotFound(id, this.paths.runsDir)
      throw err
    }
    return {...parseRunRecord(text, file), id}
  }

  async details(id: string): Promise<RunDetails> {
    const record = await this.get(id)
    return {
      record,
      metrics: parseJsonl<EpochMetrics>(await readOptional(this.paths.runFile(id, 'metrics.jsonl'))),
      events: parseJsonl<RunEvent>(await readOptional(this.paths.runFile(id, 'events.jsonl'))),
    }
  }

  async list(): Promise<RunListing> {
    let names: string[]
    try {
      names = await readdir(this.paths.runsDir)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {runs: [], skipped: []}
      throw err
    }
    const results = await Promise.all(
      names.filter(isSafeId).map(async (id) => {
        try {
          return {id, record: await this.get(id)}
        } catch (err) {
          // A folder without run.json is a run being created this instant, not damage.
          if (isMorphoError(err) && err.code === 'NOT_FOUND') return {id}
          return {id, error: (err as Error).message}
        }
      }),
    )
    const runs: RunRecord[] = []
    const skipped: RunListing['skipped'] = []
    for (const r of results) {
      if (r.record) runs.push(r.record)
      else if (r.error !== undefined) skipped.push({id: r.id, error: r.error})
    }
    return {runs: runs.sort(newestRunFirst), skipped: skipped.sort((a, b) => (a.id < b.id ? -1 : 1))}
  }

  async modelFiles(id: string): Promise<ModelFiles | undefined> {
    const record = await this.get(id)
    const runDir = this.paths.runDir(id)
    const dir = record.model ? within(runDir, record.model) : this.paths.runModelDir(id)
    const files = await readTree(dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOTDIR') return new Map() as ModelFiles
      throw err
    })
    return files.has('model.json') ? files : undefined
  }

  /**
   * The folder is renamed out of the way first (readers pass over a hidden name), then
   * removed: a delete cut short leaves no half run that lists as damaged.
   */
  async delete(id: string): Promise<void> {
    const dir = this.paths.runDir(id)
    const doomed = join(this.paths.runsDir, `.deleted.${id}.${randomBytes(4).toString('hex')}`)
    try {
      await rename(dir, doomed)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw runNotFound(id, this.paths.runsDir)
      throw err
    }
    await rm(doomed, {recursive: true, force: true})
  }

  describe(id: string): string {
    return this.paths.runDir(id)
  }
}

export function runNotFound(id: string, where: string) {
  return notFound(`run "${id}" not found in ${where}`, {
    hint: 'List the runs with morpho runs list.',
    details: {runId: id},
  })
}

async function readOptional(path: string): Promise<string> {
  try {
    return await readStoreText(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return ''
    throw err
  }
}

const RESERVE_FILE = '.reserve'
/** Room for run.json's temp copy and the last status line, with a margin: a few pages. */
const RESERVE_BYTES = 64 * 1024

/**
 * A run's files as training writes them. The run keeps a little disk space in reserve
 * (`.reserve`, removed when the run ends), so that a run that dies of a full disk can still
 * record that it failed.
 */
class FolderRunWriter implements RunWriter {
  private metrics?: FileHandle
  private events?: FileHandle
  /** A .jsonl write failed part-way: the next line starts on a line of its own. */
  private readonly torn = new Set<FileHandle>()
  private readonly files = new Map<FileHandle, string>()

  constructor(
    readonly id: string,
    readonly location: string,
  ) {}

  async start(record: RunRecord): Promise<void> {
    try {
      this.metrics = await open(join(this.location, 'metrics.jsonl'), 'a')
      this.events = await open(join(this.location, 'events.jsonl'), 'a')
      this.files.set(this.metrics, join(this.location, 'metrics.jsonl'))
      this.files.set(this.events, join(this.location, 'events.jsonl'))
      const reservePath = join(this.location, RESERVE_FILE)
      const reserve = await open(reservePath, 'w')
      try {
        await reserve.write(Buffer.alloc(RESERVE_BYTES))
        await reserve.sync()
      } catch (err) {
        throw withPath(err, reservePath)
      } finally {
        await reserve.close()
      }
      await this.record(record)
    } catch (err) {
      await this.close().catch(() => {})
      await rm(this.location, {recursive: true, force: true}).catch(() => {})
      throw err
    }
  }

  /** Replaces run.json; out of space, it gives up the reserve and tries once more. */
  async record(record: RunRecord): Promise<void> {
    const write = () => writeFileAtomic(join(this.location, 'run.json'), `${JSON.stringify(record, null, 2)}\n`)
    try {
      await write()
    } catch (err) {
      if (!isOutOfSpace(err) || !(await this.releaseReserve())) throw err
      await write()
    }
  }

  async epoch(metrics: EpochMetrics): Promise<void> {
    await this.append(this.metrics, metrics)
  }

  async event(event: RunEvent): Promise<void> {
    await this.append(this.events, event)
  }

  async saveModel(files: ModelFiles): Promise<void> {
    await replaceTree(join(this.location, 'model'), files)
  }

  private async append(handle: FileHandle | undefined, value: unknown): Promise<void> {
    if (!handle) return
    const line = `${this.torn.has(handle) ? '\n' : ''}${JSON.stringify(value)}\n`
    try {
      await handle.write(line)
      this.torn.delete(handle)
    } catch (err) {
      this.torn.add(handle)
      throw withPath(err, this.files.get(handle) ?? this.location)
    }
  }

  private async releaseReserve(): Promise<boolean> {
    const file = join(this.location, RESERVE_FILE)
    const had = await exists(file)
    await rm(file, {force: true})
    return had
  }

  async close(): Promise<void> {
    await this.metrics?.sync().catch(() => {})
    await this.events?.sync().catch(() => {})
    await this.metrics?.close()
    await this.events?.close()
    this.metrics = undefined
    this.events = undefined
    await rm(join(this.location, RESERVE_FILE), {force: true}).catch(() => {})
  }
}

function isOutOfSpace(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code
  return code === 'ENOSPC' || code === 'EDQUOT'
}

// ---------------------------------------------------------------------------------------------
// Sweeps

/** sweeps/<id>.json, each changed under sweeps.lock by temp file + rename. */
export class FolderSweeps implements SweepStore {
  constructor(readonly paths: StorePaths) {}

  private file(id: string): string {
    return within(this.paths.home, 'sweeps', `${assertSafeId('sweep id', id)}.json`)
  }

  async get(id: string): Promise<unknown | undefined> {
    const text = await readOptional(this.file(id))
    return text === '' ? undefined : JSON.parse(text)
  }

  async list(): Promise<unknown[]> {
    const dir = join(this.paths.home, 'sweeps')
    const names = await readdir(dir).catch(() => [] as string[])
    const docs: unknown[] = []
    for (const name of names.sort().reverse()) {
      if (!name.endsWith('.json') || name.startsWith('.')) continue
      try {
        docs.push(JSON.parse(await readFile(join(dir, name), 'utf8')))
      } catch {
        // Half a file cannot exist (writes are renames); anything else unreadable is not ours.
      }
    }
    return docs
  }

  describe(id: string): string {
    return this.file(id)
  }

  async update<T>(id: string, fn: (doc: unknown | undefined) => Promise<{doc: unknown; result: T}>): Promise<T> {
    const file = this.file(id)
    const {withLock} = await lockModule()
    return withLock(join(this.paths.home, 'sweeps.lock'), async (lock) => {
      const {doc, result} = await fn(await this.get(id))
      lock.assertHeld()
      await mkdir(join(this.paths.home, 'sweeps'), {recursive: true})
      await writeFileAtomic(file, `${JSON.stringify(doc, null, 2)}\n`)
      return result
    })
  }
}
