/**
 * "Did you mean …?": the known name nearest to a mistyped one, for commands, flags, sweep keys
 * and other names a user types. A name that shares nothing with the known ones gets no
 * suggestion rather than a far-fetched one.
 */

/** Edit distance counting a swap of two neighbours as one edit (Damerau, optimal string alignment). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1
  const cols = b.length + 1
  const d: number[] = new Array(rows * cols).fill(0)
  for (let i = 0; i < rows; i++) d[i * cols] = i
  for (let j = 0; j < cols; j++) d[j] = j
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let best = Math.min(d[(i - 1) * cols + j]! + 1, d[i * cols + j - 1]! + 1, d[(i - 1) * cols + j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, d[(i - 2) * cols + j - 2]! + 1)
      }
      d[i * cols + j] = best
    }
  }
  return d[rows * cols - 1]!
}

/**
 * The candidate nearest to `typed` (case and "_"/"-" ignored): within about a third of its
 * length in edits, or one it is the start of (`prod` → `production`). Ties go to the first.
 */
export function nearest(typed: string, candidates: Iterable<string>): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/_/g, '-')
  const want = norm(typed)
  if (want === '') return undefined
  const limit = Math.max(1, Math.floor(want.length / 3))
  let best: {name: string; distance: number} | undefined
  for (const name of candidates) {
    const have = norm(name)
    const distance = have === want ? 0 : have.startsWith(want) && want.length >= 3 ? 0.5 : editDistance(want, have)
    if (distance <= limit && (!best || distance < best.distance)) best = {name, distance}
  }
  return best?.name
}
