import type {PoolClient} from 'pg'
import {integrityError} from '../../errors.js'

/**
 * The database's layout, versioned like registry.json: created on first use (or by
 * `morpho store init`), migrated forward one step at a time, and refused when it is newer
 * than this morpho. The registry's invariants are the database's:
 *
 * - a version is unique per model (primary key) and numbered from the model's next_version,
 *   which only grows, under the write lock below: no MAX(version)+1 race, no number reused;
 * - at most one version per model in Production, and at most one in Staging that did not
 *   arrive with --no-archive (exclusion constraints, checked when the transaction commits, so
 *   a promotion that moves two versions at once is one step for every reader);
 * - every write transaction first locks the one row of morpho_schema, which also hands out
 *   the history's sequence numbers: writes land one after another, the history has no gaps,
 *   and its order is the order of the commits.
 *
 * JSON documents (a version's entry, a run's record, a history entry) are kept as `json`,
 * which stores the text as given: what a folder store would write, key order and all.
 */

export const PG_SCHEMA_VERSION = 1

/** One step per version: MIGRATIONS[n - 1] takes a database from version n - 1 to n. */
const MIGRATIONS: string[] = [
  `
  CREATE TABLE morpho_schema (
    id int PRIMARY KEY CHECK (id = 1),
    version int NOT NULL,
    next_seq bigint NOT NULL DEFAULT 1
  );
  CREATE TABLE models (
    name text PRIMARY KEY,
    created_at text NOT NULL,
    next_version int NOT NULL CHECK (next_version >= 1)
  );
  CREATE TABLE versions (
    model text NOT NULL REFERENCES models (name),
    version int NOT NULL CHECK (version >= 1),
    stage text NOT NULL CHECK (stage IN ('None', 'Staging', 'Production', 'Archived')),
    staging_shared boolean NOT NULL DEFAULT false,
    entry json NOT NULL,
    PRIMARY KEY (model, version),
    CONSTRAINT one_production EXCLUDE USING btree (model WITH =) WHERE (stage = 'Production')
      DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT one_staging EXCLUDE USING btree (model WITH =) WHERE (stage = 'Staging' AND NOT staging_shared)
      DEFERRABLE INITIALLY DEFERRED
  );
  CREATE TABLE version_files (
    model text NOT NULL,
    version int NOT NULL,
    path text NOT NULL,
    bytes bytea NOT NULL,
    PRIMARY KEY (model, version, path),
    FOREIGN KEY (model, version) REFERENCES versions (model, version)
  );
  CREATE TABLE aliases (
    model text NOT NULL REFERENCES models (name),
    alias text NOT NULL,
    version int NOT NULL,
    PRIMARY KEY (model, alias),
    FOREIGN KEY (model, version) REFERENCES versions (model, version)
  );
  CREATE TABLE history (
    seq bigint PRIMARY KEY CHECK (seq >= 1),
    model text NOT NULL,
    entry json NOT NULL
  );
  CREATE INDEX history_model ON history (model, seq);
  CREATE TABLE runs (
    id text PRIMARY KEY,
    created_at text NOT NULL,
    record json
  );
  CREATE TABLE run_metrics (
    run_id text NOT NULL REFERENCES runs (id),
    n bigserial,
    line json NOT NULL,
    PRIMARY KEY (run_id, n)
  );
  CREATE TABLE run_events (
    run_id text NOT NULL REFERENCES runs (id),
    n bigserial,
    line json NOT NULL,
    PRIMARY KEY (run_id, n)
  );
  CREATE TABLE run_files (
    run_id text NOT NULL REFERENCES runs (id),
    path text NOT NULL,
    bytes bytea NOT NULL,
    PRIMARY KEY (run_id, path)
  );
  CREATE TABLE sweeps (
    id text PRIMARY KEY,
    doc json
  );
  CREATE FUNCTION morpho_notify() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    PERFORM pg_notify('morpho_registry', NEW.next_seq::text);
    RETURN NULL;
  END $$;
  CREATE TRIGGER morpho_registry_changed AFTER UPDATE OF next_seq ON morpho_schema
    FOR EACH ROW EXECUTE FUNCTION morpho_notify();
  INSERT INTO morpho_schema (id, version) VALUES (1, 1);
  `,
]

/** The channel a registry change is announced on (LISTEN morpho_registry), with the new next_seq. */
export const REGISTRY_CHANNEL = 'morpho_registry'

// Any fixed number: every morpho process that creates or migrates the schema takes this lock.
const SCHEMA_LOCK = 7_305_114_201

/**
 * Makes the schema current: nothing when it already is (one query), else creates or migrates
 * it under a transaction-scoped advisory lock, so processes starting together do it once.
 */
export async function ensureSchema(client: PoolClient, where: string): Promise<number> {
  const current = await schemaVersion(client)
  if (current === PG_SCHEMA_VERSION) return current
  if (current !== undefined && current > PG_SCHEMA_VERSION) throw newerSchema(current, where)
  await client.query('BEGIN')
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK])
    let version = (await schemaVersion(client)) ?? 0
    if (version > PG_SCHEMA_VERSION) throw newerSchema(version, where)
    for (; version < PG_SCHEMA_VERSION; version++) {
      await client.query(MIGRATIONS[version]!)
      await client.query('UPDATE morpho_schema SET version = $1 WHERE id = 1', [version + 1])
    }
    await client.query('COMMIT')
    return version
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined)
    throw err
  }
}

/** The schema's version, or undefined in a database morpho has not used yet. */
export async function schemaVersion(client: PoolClient): Promise<number | undefined> {
  const exists = await client.query<{t: string | null}>("SELECT to_regclass('morpho_schema')::text AS t")
  if (exists.rows[0]?.t == null) return undefined
  const row = await client.query<{version: number}>('SELECT version FROM morpho_schema WHERE id = 1')
  return row.rows[0]?.version
}

function newerSchema(version: number, where: string) {
  return integrityError(
    `the store ${where} has schema version ${version}, newer than this morpho understands (${PG_SCHEMA_VERSION}); refusing to use it`,
    {
      hint: 'Upgrade morpho to the version that last wrote this database, or point --store at another one. morpho changed nothing.',
      details: {reason: 'newer_schema', schemaVersion: version, supported: PG_SCHEMA_VERSION},
    },
  )
}
