import type {Env} from '../config.js'
import {usageError} from '../errors.js'

/**
 * Which share of a grid this process runs: `--shard I/N` (I from 0), or `--shards N` with I
 * from Kubernetes' JOB_COMPLETION_INDEX (an Indexed Job gives each pod its index), so any
 * orchestrator can spread one sweep over many hosts. Combination k belongs to shard k mod N.
 */
export function resolveShard(
  flags: {shard?: string; shards?: number},
  env: Env = process.env,
): {index: number; count: number} | undefined {
  if (flags.shard !== undefined && flags.shards !== undefined) {
    throw usageError('--shard and --shards both say which share of the grid to run; give one')
  }
  if (flags.shard !== undefined) {
    const m = /^(\d+)\/(\d+)$/.exec(flags.shard.trim())
    const index = Number(m?.[1])
    const count = Number(m?.[2])
    if (!m || count < 1 || index >= count) {
      throw usageError(`Invalid --shard "${flags.shard}"`, {
        hint: 'Give I/N with 0 <= I < N, e.g. --shard 0/4 for the first of four shards.',
        details: {shard: flags.shard},
      })
    }
    return {index, count}
  }
  if (flags.shards === undefined) return undefined
  const raw = env.JOB_COMPLETION_INDEX
  const index = Number(raw)
  if (raw === undefined || raw === '' || !Number.isInteger(index) || index < 0 || index >= flags.shards) {
    throw usageError(
      `--shards ${flags.shards} takes this shard's index from JOB_COMPLETION_INDEX, which is ${raw === undefined ? 'not set' : JSON.stringify(raw)}`,
      {hint: `Run it in a Kubernetes Indexed Job (completions: ${flags.shards}), or give --shard I/${flags.shards}.`},
    )
  }
  return {index, count: flags.shards}
}
