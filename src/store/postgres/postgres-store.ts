import {createHash} from 'node:crypto'
import {mkdir, rename, rm} from 'node:fs/promises'
import {homedir} from 'node:os'
import {join} from 'node:path'
import pg from 'pg'
import {isMorphoError, MorphoError, notFound, usageError} from '../../errors.js'
import {verifyFiles} from '../../registry/manifest.js'
import type {HistoryEntry, ModelRecord, VersionEntry} from '../../registry/schema.js'
import {oneAtATime} from '../../serial.js'
import {newestRunFirst, newRunId, parseRunRecord} from '../../tracking/runs.js'
import type {RunEvent, RunRecord} from '../../tracking/types.js'
import type {EpochMetrics} from '../../training/types.js'
import {type ModelFiles, readTree, sortedPaths, writeTree} from '../files.js'
import {removeFolders, strayVersionFolders} from '../gc.js'
import {assertSafeId, within} from '../paths.js'
import type {
  CollectedFiles,
  Follower,
  FollowOptions,
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
import {ensureSchema, REGISTRY_CHANNEL, schemaVersion} from './schema.js'
import {redactUrl, scrub, secretsOf} from './url.js'

type Client = pg.PoolClient

/**
 * The team store: a PostgreSQL database holding what a folder store holds (runs, the
 * registry, model files) with the same rules and the same answers. Every write is one
 * transaction; see schema.ts for the invariants the database itself enforces.
 */
export class PostgresStore implements Store {
  readonly kind = 'postgres' as const
  readonly location: string
  readonly registry: PostgresRegistry
  readonly runs: PostgresRuns
  readonly sweeps: PostgresSweeps
  private readonly url: string
  private readonly secrets: string[]
  private pool: pg.Pool | undefined
  private ready: Promise<void> | undefined

  /**
   * `max`: connections in the pool (default 4). `timeoutMs`: how long connecting, and then
   * each query, may take (default 10 s to connect, 30 s a query).
   */
  constructor(url: string, options: {max?: number; timeoutMs?: number} = {}) {
    this.url = url
    this.timeoutMs = options.timeoutMs
    this.location = redactUrl(url)
    this.secrets = secretsOf(url)
    this.poolSize = options.max ?? 4
    this.registry = new PostgresRegistry(this)
    this.runs = new PostgresRuns(this)
    this.sweeps = new PostgresSweeps(this)
  }

  private readonly poolSize: number
  private readonly timeoutMs: number | undefined

  connectionString(): string {
    return this.url
  }

  /** A client with the schema current, for one piece of work; `fn` runs with it, then it goes back. */
  async with<T>(fn: (client: Client) => Promise<T>): Promise<T> {
    const client = await this.connect()
    let broken: Error | undefined
    try {
      if (!this.ready) {
        this.ready = ensureSchema(client, this.location).then(() => undefined)
        this.ready.catch(() => {
          this.ready = undefined
        })
      }
      await this.ready
      return await fn(client)
    } catch (err) {
      if (!(err instanceof pg.DatabaseError) && !isMorphoError(err)) broken = err as Error
      throw this.translate(err)
    } finally {
      client.release(broken)
    }
  }

  /** One transaction: BEGIN, `fn`, COMMIT (ROLLBACK if anything fails). */
  transaction<T>(fn: (client: Client) => Promise<T>, begin = 'BEGIN'): Promise<T> {
    return this.with(async (client) => {
      await client.query(begin)
      try {
        const result = await fn(client)
        await client.query('COMMIT')
        return result
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined)
        throw err
      }
    })
  }

  private async connect(): Promise<Client> {
    if (!this.pool) {
      this.pool = new pg.Pool({
        connectionString: this.url,
        max: this.poolSize,
        connectionTimeoutMillis: this.timeoutMs ?? 10_000,
        // A database behind a cut link answers nothing: a query gives up (and its connection is
        // dropped) instead of holding a pool slot for ever; keepalive notices a vanished peer.
        query_timeout: this.timeoutMs ?? 30_000,
        keepAlive: true,
        application_name: 'morpho',
      })
      // An idle client whose server went away: the next query gets a fresh one.
      this.pool.on('error', () => undefined)
    }
    try {
      return await this.pool.connect()
    } catch (err) {
      throw this.translate(err)
    }
  }

  /** A database error as a morpho error, its text scrubbed of the password. */
  translate(err: unknown): Error {
    if (isMorphoError(err)) return err
    const e = err as {code?: string; message?: string}
    const message = scrub(e?.message ?? String(err), this.secrets)
    if (e?.code === '28P01' || e?.code === '28000' || e?.code === '3D000') {
      return usageError(`cannot use the store ${this.location}: ${message}`, {
        hint: 'Check the user, password and database name of --store / MORPHO_STORE.',
        details: {store: this.location, code: e.code},
      })
    }
    if (e?.code === '23505' || e?.code === '23P01' || e?.code === '40001') {
      return new MorphoError('CONFLICT', `the store refused a conflicting write: ${message}`, {
        hint: 'Another morpho process changed the same thing at the same moment; nothing was written. Retry.',
        details: {store: this.location, code: e.code},
      })
    }
    if (err instanceof pg.DatabaseError) {
      return new MorphoError('INTERNAL', `the store ${this.location} answered: ${message}`, {
        details: {store: this.location, code: e.code},
      })
    }
    return new MorphoError('STORE_UNAVAILABLE', `cannot reach the store ${this.location}: ${message}`, {
      hint: 'Check that the database is up and reachable from here; nothing was written.',
      details: {store: this.location},
    })
  }

  async status(): Promise<StoreStatus> {
    const base = {kind: 'postgres' as const, path: this.location}
    let client: Client | undefined
    try {
      client = await this.connect()
      const version = await schemaVersion(client)
      const canCreate = await client.query<{ok: boolean}>(
        "SELECT has_database_privilege(current_database(), 'CREATE') AS ok",
      )
      return {...base, exists: true, writable: canCreate.rows[0]?.ok === true, registry: version !== undefined}
    } catch (err) {
      return {...base, exists: false, writable: false, registry: false, error: this.translate(err).message}
    } finally {
      client?.release()
    }
  }

  /** Creates or migrates the schema now (what `morpho store init` does). */
  async init(): Promise<{schemaVersion: number; created: boolean}> {
    const client = await this.connect()
    try {
      const before = await schemaVersion(client)
      const version = await ensureSchema(client, this.location)
      return {schemaVersion: version, created: before === undefined}
    } catch (err) {
      throw this.translate(err)
    } finally {
      client.release()
    }
  }

  async close(): Promise<void> {
    const pool = this.pool
    this.pool = undefined
    this.ready = undefined
    await pool?.end().catch(() => undefined)
  }
}

// ---------------------------------------------------------------------------------------------
// Registry

function readTx(client: Client, forUpdate: boolean): RegistryReadTx {
  return {
    async modelNames() {
      const r = await client.query<{name: string}>('SELECT name FROM models ORDER BY name COLLATE "C"')
      return r.rows.map((row) => row.name)
    },
    async model(name) {
      const m = await client.query<{name: string; created_at: string; next_version: number}>(
        `SELECT name, created_at, next_version FROM models WHERE name = $1${forUpdate ? ' FOR UPDATE' : ''}`,
        [name],
      )
      const row = m.rows[0]
      if (!row) return undefined
      const versions = await client.query<{entry: VersionEntry}>(
        'SELECT entry FROM versions WHERE model = $1 ORDER BY version',
        [name],
      )
      const aliases = await client.query<{alias: string; version: number}>(
        'SELECT alias, version FROM aliases WHERE model = $1 ORDER BY alias COLLATE "C"',
        [name],
      )
      const model: ModelRecord = {
        name: row.name,
        createdAt: row.created_at,
        nextVersion: row.next_version,
        aliases: Object.fromEntries(aliases.rows.map((a) => [a.alias, a.version])),
        versions: versions.rows.map((v) => v.entry),
      }
      return model
    },
    async history(model) {
      const r =
        model === undefined
          ? await client.query<{entry: HistoryEntry}>('SELECT entry FROM history ORDER BY seq')
          : await client.query<{entry: HistoryEntry}>('SELECT entry FROM history WHERE model = $1 ORDER BY seq', [
              model,
            ])
      return r.rows.map((row) => row.entry)
    },
  }
}

class PostgresStaged implements StagedVersion {
  constructor(readonly files: ModelFiles) {}
  async discard(): Promise<void> {}
}

export class PostgresRegistry implements RegistryStore {
  constructor(private readonly store: PostgresStore) {}

  async signature(): Promise<string> {
    return this.store.with(async (client) => {
      const r = await client.query<{next_seq: string}>('SELECT next_seq FROM morpho_schema WHERE id = 1')
      const next = r.rows[0]?.next_seq
      return next === undefined || next === '1' ? '' : next
    })
  }

  read<T>(fn: (tx: RegistryReadTx) => Promise<T>): Promise<T> {
    // One snapshot for every query of the read: a promotion is seen whole or not at all.
    return this.store.transaction(
      (client) => fn(readTx(client, false)),
      'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
    )
  }

  write<T>(fn: (tx: RegistryWriteTx) => Promise<T>): Promise<T> {
    return this.store.transaction(async (client) => {
      // The write lock: every registry write takes this row first (see schema.ts).
      await client.query('SELECT next_seq FROM morpho_schema WHERE id = 1 FOR UPDATE')
      const now = await client.query<{now: Date}>('SELECT clock_timestamp() AS now')
      const time = (now.rows[0]?.now ?? new Date()).toISOString()
      const tx: RegistryWriteTx = {
        ...readTx(client, true),
        time,
        async insertModel(model) {
          await client.query('INSERT INTO models (name, created_at, next_version) VALUES ($1, $2, $3)', [
            model.name,
            model.createdAt,
            model.nextVersion,
          ])
        },
        async insertVersion(model, entry, staged) {
          await client.query('UPDATE models SET next_version = GREATEST(next_version, $2) WHERE name = $1', [
            model.name,
            Math.max(model.nextVersion, entry.version + 1),
          ])
          await client.query(
            'INSERT INTO versions (model, version, stage, staging_shared, entry) VALUES ($1, $2, $3, $4, $5)',
            [model.name, entry.version, entry.stage, false, JSON.stringify(entry)],
          )
          const files = (staged as PostgresStaged).files
          for (const path of sortedPaths(files)) {
            await client.query('INSERT INTO version_files (model, version, path, bytes) VALUES ($1, $2, $3, $4)', [
              model.name,
              entry.version,
              path,
              files.get(path),
            ])
          }
        },
        async updateVersion(model, entry, options) {
          await client.query(
            'UPDATE versions SET stage = $3, staging_shared = $4, entry = $5 WHERE model = $1 AND version = $2',
            [model.name, entry.version, entry.stage, options?.shared === true, JSON.stringify(entry)],
          )
        },
        async updateAlias(model, alias, version) {
          if (version === null) {
            await client.query('DELETE FROM aliases WHERE model = $1 AND alias = $2', [model.name, alias])
          } else {
            await client.query(
              `INSERT INTO aliases (model, alias, version) VALUES ($1, $2, $3)
               ON CONFLICT (model, alias) DO UPDATE SET version = EXCLUDED.version`,
              [model.name, alias, version],
            )
          }
        },
        async deleteVersion(model, entry) {
          // A database keeps no files apart from their version: they go in the same transaction.
          const key = [model.name, entry.version]
          await client.query('DELETE FROM aliases WHERE model = $1 AND version = $2', key)
          await client.query('DELETE FROM version_files WHERE model = $1 AND version = $2', key)
          await client.query('DELETE FROM versions WHERE model = $1 AND version = $2', key)
        },
        async appendHistory(entry) {
          const r = await client.query<{seq: string}>(
            'UPDATE morpho_schema SET next_seq = next_seq + 1 WHERE id = 1 RETURNING next_seq - 1 AS seq',
          )
          const full: HistoryEntry = {seq: Number(r.rows[0]!.seq), ...entry}
          await client.query('INSERT INTO history (seq, model, entry) VALUES ($1, $2, $3)', [
            full.seq,
            full.model,
            JSON.stringify(full),
          ])
          return full
        },
      }
      return fn(tx)
    })
  }

  async stageVersion(_model: string, files: ModelFiles): Promise<StagedVersion> {
    return new PostgresStaged(files)
  }

  versionFiles(model: string, entry: VersionEntry): Promise<ModelFiles> {
    return this.store.with(async (client) => {
      const r = await client.query<{path: string; bytes: Buffer}>(
        'SELECT path, bytes FROM version_files WHERE model = $1 AND version = $2',
        [model, entry.version],
      )
      return new Map(r.rows.map((row) => [row.path, row.bytes]))
    })
  }

  /** The local cache: $XDG_CACHE_HOME/morpho/stores/<hash of the store>/models/<name>/<version>. */
  versionDir(model: string, entry: VersionEntry): string {
    return within(this.cachedModels(), assertSafeId('model name', model), String(entry.version))
  }

  private cachedModels(): string {
    const cache = process.env.XDG_CACHE_HOME || join(homedir(), '.cache')
    const store = createHash('sha256').update(this.store.location).digest('hex').slice(0, 16)
    return join(cache, 'morpho', 'stores', store, 'models')
  }

  /** Writes the (verified) files into the cache folder unless it already holds exactly them. */
  async materialize(model: string, entry: VersionEntry, files: ModelFiles): Promise<string> {
    const dir = this.versionDir(model, entry)
    const label = `${model} v${entry.version}`
    try {
      verifyFiles(await readTree(dir), {label, manifestSha256: entry.manifestSha256})
      return dir
    } catch {
      // Absent or stale: written again below.
    }
    const partial = `${dir}.partial-${process.pid}`
    await rm(partial, {recursive: true, force: true})
    await mkdir(join(dir, '..'), {recursive: true})
    await writeTree(partial, files, 0o444)
    await rm(dir, {recursive: true, force: true})
    await rename(partial, dir)
    return dir
  }

  /**
   * LISTEN on the registry's channel over a connection of its own, with a poll of the
   * registry's signature beside it (a notification can be lost with its connection). When
   * the connection drops the store is reported down and reconnected with backoff (0.1 s,
   * doubling to 5 s); once back, the registry is read again in full, since notifications
   * sent meanwhile were never kept.
   */
  async follow(options: FollowOptions): Promise<Follower> {
    let closed = false
    let up = false
    let client: pg.Client | undefined
    let last: string | undefined
    let backoff = 100
    let reconnectTimer: NodeJS.Timeout | undefined
    // The caller reports its own failures.
    const change = oneAtATime(options.onChange)
    const fire = async (): Promise<void> => {
      if (!closed) await change()
    }
    const status = (now: boolean, error?: string) => {
      if (now === up) return
      up = now
      options.onStatus(now, error)
    }
    const lost = (err: unknown) => {
      if (closed) return
      const c = client
      client = undefined
      c?.removeAllListeners()
      c?.end().catch(() => undefined)
      status(false, this.store.translate(err).message)
      if (!reconnectTimer) {
        reconnectTimer = setTimeout(() => {
          reconnectTimer = undefined
          void connect()
        }, backoff)
        reconnectTimer.unref()
        backoff = Math.min(backoff * 2, 5000)
      }
    }
    let connecting = false
    const connect = async (): Promise<void> => {
      if (closed || connecting) return
      connecting = true
      try {
        await listen()
      } finally {
        connecting = false
      }
    }
    const listen = async (): Promise<void> => {
      const c = new pg.Client({
        connectionString: this.store.connectionString(),
        connectionTimeoutMillis: 5000,
        application_name: 'morpho-watch',
        // A peer that vanished (a cut link) is noticed by keepalive, not only by a failed write.
        keepAlive: true,
        keepAliveInitialDelayMillis: 1000,
      })
      c.on('error', lost)
      c.on('end', () => lost(new Error('the connection to the store closed')))
      c.on('notification', () => void fire())
      try {
        await c.connect()
        await c.query(`LISTEN ${REGISTRY_CHANNEL}`)
      } catch (err) {
        c.removeAllListeners()
        await c.end().catch(() => undefined)
        lost(err)
        return
      }
      if (closed) {
        await c.end().catch(() => undefined)
        return
      }
      client = c
      backoff = 100
      status(true)
      // Whatever changed while nobody listened.
      void fire()
    }
    // A poll that gets no answer (a cut link drops packets rather than refusing them) counts as lost.
    const probe = () =>
      Promise.race([
        this.signature(),
        new Promise<never>((_, reject) => {
          setTimeout(() => reject(new Error('the store did not answer')), Math.max(options.pollMs * 3, 3000)).unref()
        }),
      ])
    const poll = setInterval(() => {
      probe().then(
        (now) => {
          if (client) status(true)
          else if (!connecting) {
            // The database answers again: listen now rather than at the end of the backoff.
            if (reconnectTimer) clearTimeout(reconnectTimer)
            reconnectTimer = undefined
            void connect()
          }
          if (last !== undefined && now !== last) void fire()
          last = now
        },
        (err: unknown) => {
          if (client) lost(err)
          else status(false, this.store.translate(err).message)
        },
      )
    }, options.pollMs)
    poll.unref()
    last = await this.signature().catch(() => undefined)
    await connect()
    return {
      get up() {
        return up
      },
      async close() {
        closed = true
        clearInterval(poll)
        if (reconnectTimer) clearTimeout(reconnectTimer)
        const c = client
        client = undefined
        c?.removeAllListeners()
        await c?.end().catch(() => undefined)
      },
    }
  }

  /**
   * The database drops a version's files with it, so what is left to collect is this machine's
   * cached copies of versions the registry no longer has.
   */
  async collectGarbage(options: {dryRun: boolean}): Promise<CollectedFiles[]> {
    const found = await this.read((tx) => strayVersionFolders(this.cachedModels(), (name) => tx.model(name)))
    if (!options.dryRun) await removeFolders(found)
    return found
  }

  describeVersion(model: string, entry: VersionEntry): string {
    return `The files of ${model} v${entry.version} in ${this.store.location} changed after registration (or were never completely copied). Register the run again for a fresh version.`
  }
}

// ---------------------------------------------------------------------------------------------
// Runs

export class PostgresRuns implements RunStore {
  constructor(private readonly store: PostgresStore) {}

  async create(problem: string): Promise<RunWriter> {
    for (let attempt = 0; ; attempt++) {
      const id = newRunId(problem)
      const created = await this.store.with((client) =>
        client.query('INSERT INTO runs (id, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
          id,
          new Date().toISOString(),
        ]),
      )
      if (created.rowCount === 1) return new PostgresRunWriter(this.store, id)
      if (attempt > 20) throw new MorphoError('CONFLICT', `could not find a free run id for ${problem}`)
    }
  }

  async put(run: StoredRun): Promise<void> {
    const {id} = run.record
    assertSafeId('run id', id)
    await this.store.transaction(async (client) => {
      const created = await client.query(
        'INSERT INTO runs (id, created_at, record) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
        [id, run.record.createdAt, JSON.stringify(run.record, null, 2)],
      )
      if (created.rowCount !== 1) {
        throw new MorphoError('CONFLICT', `run "${id}" is already in ${this.store.location}`, {details: {runId: id}})
      }
      for (const m of run.metrics) {
        await client.query('INSERT INTO run_metrics (run_id, line) VALUES ($1, $2)', [id, JSON.stringify(m)])
      }
      for (const e of run.events) {
        await client.query('INSERT INTO run_events (run_id, line) VALUES ($1, $2)', [id, JSON.stringify(e)])
      }
      for (const [path, bytes] of run.model ?? []) {
        await client.query('INSERT INTO run_files (run_id, path, bytes) VALUES ($1, $2, $3)', [id, path, bytes])
      }
    })
  }

  async get(id: string): Promise<RunRecord> {
    assertSafeId('run id', id)
    const text = await this.store.with(async (client) => {
      const r = await client.query<{record: string | null}>('SELECT record::text AS record FROM runs WHERE id = $1', [
        id,
      ])
      return r.rows[0]?.record ?? undefined
    })
    if (text === undefined) throw runNotFound(id, this.store.location)
    return {...parseRunRecord(text, `run ${id}: run.json`), id}
  }

  async details(id: string): Promise<RunDetails> {
    const record = await this.get(id)
    return this.store.with(async (client) => {
      const metrics = await client.query<{line: EpochMetrics}>(
        'SELECT line FROM run_metrics WHERE run_id = $1 ORDER BY n',
        [id],
      )
      const events = await client.query<{line: RunEvent}>('SELECT line FROM run_events WHERE run_id = $1 ORDER BY n', [
        id,
      ])
      return {record, metrics: metrics.rows.map((r) => r.line), events: events.rows.map((r) => r.line)}
    })
  }

  async list(): Promise<RunListing> {
    const rows = await this.store.with(async (client) => {
      const r = await client.query<{id: string; record: string | null}>(
        'SELECT id, record::text AS record FROM runs WHERE record IS NOT NULL',
      )
      return r.rows
    })
    const runs: RunRecord[] = []
    const skipped: RunListing['skipped'] = []
    for (const row of rows) {
      try {
        runs.push({...parseRunRecord(row.record!, `run ${row.id}: run.json`), id: row.id})
      } catch (err) {
        skipped.push({id: row.id, error: (err as Error).message})
      }
    }
    return {runs: runs.sort(newestRunFirst), skipped: skipped.sort((a, b) => (a.id < b.id ? -1 : 1))}
  }

  async modelFiles(id: string): Promise<ModelFiles | undefined> {
    await this.get(id)
    const files = await this.store.with(async (client) => {
      const r = await client.query<{path: string; bytes: Buffer}>(
        'SELECT path, bytes FROM run_files WHERE run_id = $1',
        [id],
      )
      return new Map(r.rows.map((row) => [row.path, row.bytes as Uint8Array]))
    })
    return files.has('model.json') ? files : undefined
  }

  async delete(id: string): Promise<void> {
    assertSafeId('run id', id)
    await this.store.transaction(async (client) => {
      for (const table of ['run_files', 'run_metrics', 'run_events']) {
        await client.query(`DELETE FROM ${table} WHERE run_id = $1`, [id])
      }
      const gone = await client.query('DELETE FROM runs WHERE id = $1', [id])
      if (gone.rowCount !== 1) throw runNotFound(id, this.store.location)
    })
  }

  describe(id: string): string {
    return `run ${id} in ${this.store.location}`
  }
}

function runNotFound(id: string, where: string) {
  return notFound(`run "${id}" not found in ${where}`, {
    hint: 'List the runs with morpho runs list.',
    details: {runId: id},
  })
}

class PostgresRunWriter implements RunWriter {
  readonly location: string

  constructor(
    private readonly store: PostgresStore,
    readonly id: string,
  ) {
    this.location = `run ${id} in ${store.location}`
  }

  async start(record: RunRecord): Promise<void> {
    try {
      await this.record(record)
    } catch (err) {
      await this.store.with((client) => client.query('DELETE FROM runs WHERE id = $1', [this.id])).catch(() => {})
      throw err
    }
  }

  async record(record: RunRecord): Promise<void> {
    await this.store.with((client) =>
      client.query('UPDATE runs SET record = $2 WHERE id = $1', [this.id, JSON.stringify(record, null, 2)]),
    )
  }

  async epoch(metrics: EpochMetrics): Promise<void> {
    await this.store.with((client) =>
      client.query('INSERT INTO run_metrics (run_id, line) VALUES ($1, $2)', [this.id, JSON.stringify(metrics)]),
    )
  }

  async event(event: RunEvent): Promise<void> {
    await this.store.with((client) =>
      client.query('INSERT INTO run_events (run_id, line) VALUES ($1, $2)', [this.id, JSON.stringify(event)]),
    )
  }

  async saveModel(files: ModelFiles): Promise<void> {
    await this.store.transaction(async (client) => {
      await client.query('DELETE FROM run_files WHERE run_id = $1', [this.id])
      for (const path of sortedPaths(files)) {
        await client.query('INSERT INTO run_files (run_id, path, bytes) VALUES ($1, $2, $3)', [
          this.id,
          path,
          files.get(path),
        ])
      }
    })
  }

  async close(): Promise<void> {}
}

// ---------------------------------------------------------------------------------------------
// Sweeps

export class PostgresSweeps implements SweepStore {
  constructor(private readonly store: PostgresStore) {}

  async get(id: string): Promise<unknown | undefined> {
    assertSafeId('sweep id', id)
    return this.store.with(async (client) => {
      const r = await client.query<{doc: unknown}>('SELECT doc FROM sweeps WHERE id = $1 AND doc IS NOT NULL', [id])
      return r.rows[0]?.doc
    })
  }

  async list(): Promise<unknown[]> {
    return this.store.with(async (client) => {
      const r = await client.query<{doc: unknown}>(
        'SELECT doc FROM sweeps WHERE doc IS NOT NULL ORDER BY id COLLATE "C" DESC',
      )
      return r.rows.map((row) => row.doc)
    })
  }

  describe(id: string): string {
    return `sweep ${id} in ${this.store.location}`
  }

  update<T>(id: string, fn: (doc: unknown | undefined) => Promise<{doc: unknown; result: T}>): Promise<T> {
    assertSafeId('sweep id', id)
    return this.store.transaction(async (client) => {
      await client.query('INSERT INTO sweeps (id) VALUES ($1) ON CONFLICT DO NOTHING', [id])
      const r = await client.query<{doc: unknown}>('SELECT doc FROM sweeps WHERE id = $1 FOR UPDATE', [id])
      const {doc, result} = await fn(r.rows[0]?.doc ?? undefined)
      await client.query('UPDATE sweeps SET doc = $2 WHERE id = $1', [id, JSON.stringify(doc, null, 2)])
      return result
    })
  }
}
