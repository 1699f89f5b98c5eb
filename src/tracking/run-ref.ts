import {isMorphoError, notFound, usageError} from '../errors.js'
import type {Store} from '../store/store.js'

/** How many candidates an ambiguous prefix names in its hint (details has them all). */
const SHOWN = 8

/**
 * What a user may type for a run: its id, `latest` (the newest run), or the start of an id
 * that only one run has. Commands resolve it to the id before anything else; a start that
 * several runs share is a usage error (exit 2) naming them.
 */
export async function resolveRunRef(store: Store, ref: string): Promise<string> {
  const typed = ref.trim()
  if (typed === '') throw usageError('Empty run id', {hint: 'Give a run id, the start of one, or latest.'})
  let missing: unknown
  if (typed.toLowerCase() !== 'latest') {
    try {
      await store.runs.get(typed)
      return typed
    } catch (err) {
      if (!isMorphoError(err) || err.code !== 'NOT_FOUND') throw err
      missing = err
    }
  }
  const {runs, skipped} = await store.runs.list()
  if (missing === undefined) {
    if (runs.length === 0) {
      throw notFound('there are no runs yet, so no latest one', {hint: 'Train one with morpho train.'})
    }
    return runs[0]!.id
  }
  // Damaged runs count too: a start only they match resolves to them, and get() says what is wrong.
  const matching = [...runs.map((r) => r.id), ...skipped.map((s) => s.id)].filter((id) => id.startsWith(typed))
  if (matching.length === 1) return matching[0]!
  if (matching.length > 1) {
    const shown = matching.slice(0, SHOWN)
    throw usageError(`"${typed}" is the start of ${matching.length} run ids`, {
      hint: `Give more of it: ${shown.join(', ')}${matching.length > SHOWN ? `, … (${matching.length - SHOWN} more)` : ''}.`,
      details: {ref: typed, candidates: matching},
    })
  }
  throw missing
}
