import {join, resolve, sep} from 'node:path'
import {usageError} from '../errors.js'

/**
 * The store folder's layout (registry.json, runs/<id>/, models/<name>/<version>/). Every path
 * built from user input (a run id, a model name, a version) goes through a validator first, so
 * nothing can escape the store.
 */

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/

export function assertSafeId(kind: string, value: string): string {
  if (!ID_PATTERN.test(value) || value.includes('..')) {
    throw usageError(`Invalid ${kind} "${value}"`, {
      hint: `A ${kind} is 1-128 characters of letters, digits, ".", "_" or "-", starting with a letter or digit.`,
      details: {[kind]: value},
    })
  }
  return value
}

export function isSafeId(value: string): boolean {
  return ID_PATTERN.test(value) && !value.includes('..')
}

/** Joins segments under root and refuses any result outside it (belt and braces after validation). */
export function within(root: string, ...segments: string[]): string {
  const base = resolve(root)
  const full = resolve(base, ...segments)
  if (full !== base && !full.startsWith(base + sep)) {
    throw usageError(`Path escapes the store: ${segments.join('/')}`)
  }
  return full
}

export class StorePaths {
  readonly home: string

  constructor(home: string) {
    this.home = resolve(home)
  }

  get runsDir(): string {
    return join(this.home, 'runs')
  }

  get modelsDir(): string {
    return join(this.home, 'models')
  }

  get registryFile(): string {
    return join(this.home, 'registry.json')
  }

  get registryLock(): string {
    return join(this.home, 'registry.lock')
  }

  runDir(runId: string): string {
    return within(this.runsDir, assertSafeId('run id', runId))
  }

  runFile(runId: string, file: 'run.json' | 'metrics.jsonl' | 'events.jsonl'): string {
    return join(this.runDir(runId), file)
  }

  runModelDir(runId: string): string {
    return join(this.runDir(runId), 'model')
  }

  modelDir(name: string): string {
    return within(this.modelsDir, assertSafeId('model name', name))
  }

  versionDir(name: string, version: number): string {
    if (!Number.isSafeInteger(version) || version < 1) {
      throw usageError(`Invalid version "${version}"`, {hint: 'A version is a whole number from 1.'})
    }
    return within(this.modelDir(name), String(version))
  }
}
