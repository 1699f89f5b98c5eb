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
