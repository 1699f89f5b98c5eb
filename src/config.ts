import {isAbsolute, resolve} from 'node:path'
import {usageError} from './errors.js'

/**
 * Settings shared by every command, resolved in one place:
 * the flag, then the MORPHO_* environment variable, then the default.
 */

export type Env = Record<string, string | undefined>

export const BACKEND_CHOICES = ['auto', 'tensorflow', 'wasm', 'cpu'] as const
export type BackendRequest = (typeof BACKEND_CHOICES)[number]

/** The store folder: --home, else MORPHO_HOME, else ./.morpho in the current directory. */
export function resolveHome(flag: string | undefined, env: Env = process.env, cwd: string = process.cwd()): string {
  const raw = flag ?? nonEmpty(env.MORPHO_HOME) ?? '.morpho'
  return isAbsolute(raw) ? raw : resolve(cwd, raw)
}

/** Where the store is: a folder (the embedded default) or a PostgreSQL database. */
export type StoreLocator = {kind: 'folder'; home: string} | {kind: 'postgres'; url: string}

/**
 * The store: --store, else --home, else MORPHO_STORE, else MORPHO_HOME, else ./.morpho. A
 * store value is a folder path or a postgres:// (postgresql://) URL; --home and MORPHO_HOME
 * are always folders. Flags win over the environment; --store and --home together are refused.
 */
export function resolveStore(
  flags: {store?: string; home?: string},
  env: Env = process.env,
  cwd: string = process.cwd(),
): StoreLocator {
  if (flags.store !== undefined && flags.home !== undefined) {
    throw usageError('--store and --home both name the store; give one', {
      hint: '--store takes a folder or a postgres:// URL; --home only a folder.',
    })
  }
  if (flags.store !== undefined) return parseStoreLocator(flags.store, '--store', cwd)
  if (flags.home !== undefined) return {kind: 'folder', home: resolveHome(flags.home, env, cwd)}
  const fromEnv = nonEmpty(env.MORPHO_STORE)
  if (fromEnv !== undefined) return parseStoreLocator(fromEnv, 'MORPHO_STORE', cwd)
  return {kind: 'folder', home: resolveHome(undefined, env, cwd)}
}

export function parseStoreLocator(raw: string, where = '--store', cwd: string = process.cwd()): StoreLocator {
  const value = raw.trim()
  if (value === '') throw usageError(`${where} is empty`, {hint: 'Give a folder or a postgres:// URL.'})
  if (/^postgres(ql)?:\/\//i.test(value)) return {kind: 'postgres', url: value}
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)
  if (scheme) {
    throw usageError(`${where}: unsupported store "${scheme[1]}://…"`, {
      hint: 'A store is a folder path or a postgres://user@host:port/database URL.',
      details: {scheme: scheme[1]},
    })
  }
  return {kind: 'folder', home: isAbsolute(value) ? value : resolve(cwd, value)}
}

/** The TF.js backend: --backend, else MORPHO_BACKEND, else auto. */
export function resolveBackend(flag: string | undefined, env: Env = process.env): BackendRequest {
  const raw = flag ?? nonEmpty(env.MORPHO_BACKEND) ?? 'auto'
  if (!(BACKEND_CHOICES as readonly string[]).includes(raw)) {
    throw usageError(`Unknown backend "${raw}"`, {
      hint: `Use one of: ${BACKEND_CHOICES.join(', ')} (flag --backend or MORPHO_BACKEND).`,
    })
  }
  return raw as BackendRequest
}

/** A management token for the server: --token, else MORPHO_TOKEN; undefined means no protection. */
export function resolveToken(flag: string | undefined, env: Env = process.env): string | undefined {
  return flag ?? nonEmpty(env.MORPHO_TOKEN)
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value
}

/**
 * A duration flag: "30s", "500ms", "2m", "1h", or a bare number of seconds; in milliseconds.
 */
export function parseDuration(text: string, flag: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/i.exec(text)
  if (!m) {
    throw usageError(`Invalid ${flag} "${text}"`, {
      hint: 'Give a duration such as 30s, 500ms or 2m (a bare number is seconds).',
    })
  }
  const scale = {ms: 1, s: 1000, m: 60_000, h: 3_600_000}[(m[2] ?? 's').toLowerCase() as 'ms' | 's' | 'm' | 'h']
  return Math.round(Number(m[1]) * scale)
}
