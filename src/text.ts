/**
 * Plain text: the pieces the human views of every command share (times, metrics, tables), and
 * text from outside made safe for a terminal.
 */

/** "2026-11-29 14:03:07" in the machine's time zone. */
export function localTime(iso: string): string {
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return 'unknown'
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
}

/**
 * A measured value with 4 decimals, whole ones too (`1.0000` beside `0.9850`, not `1`), so a
 * column of them lines up and reads as measured; NaN and infinities as themselves, '-' when missing.
 */
export function metric(value: number | undefined | null): string {
  if (value === undefined || value === null) return '-'
  return Number.isFinite(value) ? value.toFixed(4) : String(value)
}

export interface TableOptions {
  /** The columns a line may take: default the terminal's width (terminalWidth()), none on a pipe. */
  width?: number
  /** Headers of the columns never shortened (ids people copy); the others give up room, widest first. */
  keep?: readonly string[]
}

/**
 * Left-aligned columns two spaces apart, the header row first; colour codes take no room.
 * Where the lines would be wider than the terminal, the widest columns that may be shortened
 * lose room until every line fits, and a cut cell ends in "…"; a line that still does not fit
 * is cut at the edge. The terminal never wraps a row mid-word.
 */
export function table(header: string[], rows: string[][], options: TableOptions = {}): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => visible(r[i] ?? '').length)))
  const width = options.width ?? terminalWidth()
  if (width !== undefined) {
    const keep = new Set(options.keep ?? [])
    shrink(
      widths,
      header.map((h) => (keep.has(h) ? Number.POSITIVE_INFINITY : Math.max(h.length, 6))),
      width,
    )
  }
  const line = (cells: string[]) =>
    cells
      .map((c, i) => {
        const cell = clip(c, widths[i]!)
        return i === cells.length - 1 ? cell : cell + ' '.repeat(Math.max(0, widths[i]! - visible(cell).length))
      })
      .join('  ')
      .trimEnd()
  const lines = [line(header), ...rows.map(line)]
  return (width === undefined ? lines : lines.map((l) => clip(l, width))).join('\n')
}

/**
 * The width a table may take: the terminal's, or $COLUMNS when stdout is not a terminal and it
 * is set; undefined (no limit) on a pipe, so scripts get whole cells.
 */
export function terminalWidth(stream: {isTTY?: boolean; columns?: number} = process.stdout): number | undefined {
  if (stream.isTTY && stream.columns) return stream.columns
  const columns = Number(process.env.COLUMNS)
  return Number.isInteger(columns) && columns > 0 ? columns : undefined
}

/** Takes room from the widest columns above their floor until the line fits in `width`. */
function shrink(widths: number[], floors: number[], width: number): void {
  const total = () => widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1)
  while (total() > width) {
    let widest = -1
    for (let i = 0; i < widths.length; i++) {
      if (widths[i]! <= floors[i]!) continue
      if (widest < 0 || widths[i]! > widths[widest]!) widest = i
    }
    if (widest < 0) return
    // Down to the next widest column at most, so the room lost is shared among the widest.
    const next = Math.max(
      floors[widest]!,
      ...widths.map((w, i) => (i === widest ? 0 : Math.min(w, widths[widest]! - 1))),
    )
    widths[widest] = Math.max(next, widths[widest]! - (total() - width))
  }
}

/** The text cut to `width` visible characters, "…" marking the cut (colour codes go with it). */
function clip(text: string, width: number): string {
  const plain = visible(text)
  if (plain.length <= width) return text
  return `${plain.slice(0, Math.max(0, width - 1)).trimEnd()}…`
}

function visible(text: string): string {
  return text.replace(/\u001b\[[0-9;]*m/g, '')
}

// C0 controls but tab and newline, DEL, C1 controls, and the bidirectional overrides.
const UNPRINTABLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g

/**
 * Text from outside (a file's bytes in an error, a stored string) made safe for a terminal:
 * control characters, escape sequences among them, are shown as \xNN or \uNNNN instead of
 * being obeyed.
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => {
    const code = c.charCodeAt(0)
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`
  })
}
