import type {HistoryEntry, ModelRecord, VersionEntry} from '../registry/schema.js'
import type {RunEvent, RunRecord} from '../tracking/types.js'
import type {EpochMetrics} from '../training/types.js'
import type {ModelFiles} from './files.js'

/**
 * The store: everything morpho keeps (runs, the registry, model files; README "The store"),
 * behind one interface with two implementations, a folder (src/store/folder/) and a PostgreSQL
 * database. The registry's rules (src/registry/) and the run tracking are written once over
 * this interface, so both backends follow the same rules and give the same answers.
 *
 * A command gets one from `openStore(locator)` (src/store/open.ts), the locator from
 * `resolveStore` (src/config.ts: --store, --home, MORPHO_STORE, MORPHO_HOME), and closes it
 * when done (the base command does).
 */

export type StoreKind = 'folder' | 'postgres'

export interface Store {
  readonly kind: StoreKind
  /** Where the store is, safe to print: the folder's absolute path, or the URL without its password. */
  readonly location: string
  readonly registry: RegistryStore
  readonly runs: RunStore
  readonly sweeps: SweepStore
  /** The full locator, a database password included: for a child process's MORPHO_STORE only, never to print. */
  connectionString(): string
  /** What `morpho doctor` reports: can the store be reached and written, and does it hold a registry. */
  status(): Promise<StoreStatus>
  /** Makes the store ready for use (the folder, the database schema); `created` when it was not before. */
  init(): Promise<{schemaVersion: number; created: boolean}>
  close(): Promise<void>
}

export interface StoreStatus {
  kind: StoreKind
  /** Store.location. */
  path: string
  /** The folder exists / the database answers. */
  exists: boolean
  writable: boolean
  /** A registry has been written (registry.json / the schema is there). */
  registry: boolean
  /** Why the store could not be reached, when it could not. */
  error?: string
}

// ---------------------------------------------------------------------------------------------
// Registry

/**
 * A consistent view of the registry for the length of one call of `read` or `write`: a reader
 * sees every write that landed before it began and nothing of one still going on.
 */
export interface RegistryReadTx {
  /** Every model name, sorted. */
  modelNames(): Promise<string[]>
  /**
   * One model with its versions (ascending) and aliases, or undefined. Inside `write` the
   * records returned are live: the rules change them and then tell the transaction (below).
   */
  model(name: string): Promise<ModelRecord | undefined>
  /** History entries oldest first, of one model or of all. */
  history(model?: string): Promise<HistoryEntry[]>
}

/** What a registry write may do. Every call inside one `write` lands together, or none does. */
export interface RegistryWriteTx extends RegistryReadTx {
  /** The time of this write, ISO text: every record changed by it carries the same time. */
  readonly time: string
  /** Adds a new, empty model. */
  insertModel(model: ModelRecord): Promise<void>
  /**
   * Adds a version whose files were staged by `stageVersion`, as `entry.version`, which is the
   * model's nextVersion; the model's nextVersion becomes entry.version + 1. `entry` has already
   * been pushed onto model.versions.
   */
  insertVersion(model: ModelRecord, entry: VersionEntry, files: StagedVersion): Promise<void>
  /**
   * The version's stage, updatedAt or promotedBy changed. `shared`: it entered Staging with
   * --no-archive, beside the holders already there (a database allows only one that did not).
   */
  updateVersion(model: ModelRecord, entry: VersionEntry, options?: {shared?: boolean}): Promise<void>
  /** model.aliases[alias] changed to `version`, or was deleted (null). */
  updateAlias(model: ModelRecord, alias: string, version: number | null): Promise<void>
  /**
   * The version left the registry (`morpho delete`): `entry` has already been taken out of
   * model.versions and no alias points at it any more. Its number is never handed out again.
   * A folder keeps its files until `collectGarbage`; a database drops them with the version.
   */
  deleteVersion(model: ModelRecord, entry: VersionEntry): Promise<void>
  /** Appends to the history; its seq is one above the registry's last. */
  appendHistory(entry: Omit<HistoryEntry, 'seq'>): Promise<HistoryEntry>
}

export interface FollowOptions {
  /** Poll interval in milliseconds, the fallback beside notifications. */
  pollMs: number
  onChange(): Promise<unknown>
  /** The store became reachable (true) or not (false), with the reason. */
  onStatus(up: boolean, error?: string): void
}

export interface Follower {
  readonly up: boolean
  close(): Promise<void>
}

/** A registered version's files, copied into the store but not yet part of the registry. */
export interface StagedVersion {
  /** Removes what was staged, if the version never became part of the registry. */
  discard(): Promise<void>
}

export interface RegistryStore {
  /** The registry's file, for a folder store: what `serve --watch` follows with fs.watch. */
  readonly file?: string
  /**
   * For a database store: tells `onChange` when the registry may have changed (notifications,
   * with a slow poll beside them), and whether the store can be reached. After every
   * reconnection it calls `onChange` again: nothing is kept for a listener that was away.
   */
  follow?(options: FollowOptions): Promise<Follower>
  /** Changes whenever the registry does (a cheap check: a file's identity, a counter); "" when empty. */
  signature(): Promise<string>
  read<T>(fn: (tx: RegistryReadTx) => Promise<T>): Promise<T>
  /**
   * One atomic read-modify-write: the folder holds its inter-process lock and replaces
   * registry.json once; PostgreSQL runs one transaction. A `fn` that records no history
   * writes nothing.
   */
  write<T>(fn: (tx: RegistryWriteTx) => Promise<T>): Promise<T>
  /** Copies a version's files (manifest.json included) into the store, ahead of `insertVersion`. */
  stageVersion(model: string, files: ModelFiles): Promise<StagedVersion>
  /** A registered version's files exactly as stored (manifest.json included), unverified. */
  versionFiles(model: string, entry: VersionEntry): Promise<ModelFiles>
  /**
   * Where a version's files are on this machine: the version folder of a folder store, the
   * local cache folder of a database store (written by `materialize`).
   */
  versionDir(model: string, entry: VersionEntry): string
  /** Makes sure versionDir holds the version's files (a database store writes them); returns it. */
  materialize(model: string, entry: VersionEntry, files: ModelFiles): Promise<string>
  /** Where a damaged version's files would be repaired, for error hints. */
  describeVersion(model: string, entry: VersionEntry): string
  /**
   * `morpho gc`: removes the files of versions the registry no longer has (deleted ones,
   * copies a killed writer left), on this machine and in the store; `dryRun` only lists them.
   */
  collectGarbage(options: {dryRun: boolean}): Promise<CollectedFiles[]>
}

/** A version's files that `collectGarbage` removed (or would remove). */
export interface CollectedFiles {
  model: string
  /** null for a copy that never became a version. */
  version: number | null
  /** The folder, for people. */
  path: string
  bytes: number
}

// ---------------------------------------------------------------------------------------------
// Runs

export interface RunDetails {
  record: RunRecord
  metrics: EpochMetrics[]
  events: RunEvent[]
}

export interface RunListing {
  /** Newest first. */
  runs: RunRecord[]
  /** Runs whose record could not be read, with the reason; the rest still list. */
  skipped: {id: string; error: string}[]
}

/** A whole run, as `store copy` moves it (and test fixtures write it). */
export interface StoredRun {
  record: RunRecord
  metrics: EpochMetrics[]
  events: RunEvent[]
  /** The saved model's files, if it saved one. */
  model?: ModelFiles
}

export interface RunStore {
  /** A new run with an id no other run has or will have. */
  create(problem: string): Promise<RunWriter>
  /** Writes a whole run under its record's id; an id the store already has is a CONFLICT. */
  put(run: StoredRun): Promise<void>
  /** The run's record, checked (NOT_FOUND when there is none, INTEGRITY when it is damaged). */
  get(id: string): Promise<RunRecord>
  details(id: string): Promise<RunDetails>
  list(): Promise<RunListing>
  /** The run's saved model, or undefined when it saved none. */
  modelFiles(id: string): Promise<ModelFiles | undefined>
  /** Removes the run and everything recorded with it, at once (NOT_FOUND when there is none). */
  delete(id: string): Promise<void>
  /** Where the run is, for people: its folder, or "run <id> in <store>" (as RunWriter.location). */
  describe(id: string): string
}

export interface RunWriter {
  readonly id: string
  /** Where the run is, for people: its folder, or "run <id> in <store>". */
  readonly location: string
  /**
   * Writes the first record (and sets aside what the run needs to record a failure later);
   * if that fails the run is removed again, so no run exists without a record.
   */
  start(record: RunRecord): Promise<void>
  /** Replaces the record, atomically. */
  record(record: RunRecord): Promise<void>
  epoch(metrics: EpochMetrics): Promise<void>
  event(event: RunEvent): Promise<void>
  /** Saves the trained model (model.json, weights.bin) with the run. */
  saveModel(files: ModelFiles): Promise<void>
  close(): Promise<void>
}

// ---------------------------------------------------------------------------------------------
// Sweeps

/** A sweep as the store keeps it: a JSON document under its id. */
export interface SweepStore {
  get(id: string): Promise<unknown | undefined>
  /** Every sweep document, newest first. */
  list(): Promise<unknown[]>
  /** Read-modify-write of one sweep document under the store's write lock; `fn` gets undefined for a new one. */
  update<T>(id: string, fn: (doc: unknown | undefined) => Promise<{doc: unknown; result: T}>): Promise<T>
  /** Where the sweep's document is, for people: its file, or "sweep <id> in <store>". */
  describe(id: string): string
}
