/**
 * A connection string as it may be shown: the password taken out of the user part and out of
 * a `password=` parameter. Everything morpho prints, logs or records names a database store by
 * this (Store.location), never by the URL it was given.
 */
export function redactUrl(url: string): string {
  const parts = splitUrl(url)
  if (!parts) return url
  const user = parts.userInfo === undefined ? '' : `${parts.userInfo.split(':')[0]}@`
  return parts.scheme + user + parts.rest.replace(/([?&]password=)[^&#]*/gi, '$1***')
}

/** scheme://, the user part (before the last "@" of the authority) if any, and the rest. */
function splitUrl(url: string): {scheme: string; userInfo?: string; rest: string} | undefined {
  const scheme = /^([a-z][a-z0-9+.-]*:\/\/)/i.exec(url)?.[1]
  if (!scheme) return undefined
  const after = url.slice(scheme.length)
  const at = after.lastIndexOf('@', firstOf(after, ['/', '?', '#'], after.lastIndexOf('@')))
  return at < 0 ? {scheme, rest: after} : {scheme, userInfo: after.slice(0, at), rest: after.slice(at + 1)}
}

/** The first of `chars` in `text` from `from` on, else the text's length. */
function firstOf(text: string, chars: string[], from: number): number {
  let best = text.length
  for (const c of chars) {
    const i = text.indexOf(c, Math.max(0, from))
    if (i >= 0 && i < best) best = i
  }
  return best
}

/** Every way the URL's password could be written out: what tests look for, and errors are scrubbed of. */
export function secretsOf(url: string): string[] {
  const out: string[] = []
  const userInfo = splitUrl(url)?.userInfo
  if (userInfo?.includes(':')) out.push(userInfo.slice(userInfo.indexOf(':') + 1))
  for (const m of url.matchAll(/[?&]password=([^&#]*)/gi)) out.push(m[1]!)
  const decoded = out.flatMap((s) => {
    try {
      return [decodeURIComponent(s)]
    } catch {
      return []
    }
  })
  return [...new Set([...out, ...decoded])].filter((s) => s.length > 0)
}

/** `text` with every secret of the URL replaced by "***". */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text
  for (const s of secrets) out = out.split(s).join('***')
  return out
}
