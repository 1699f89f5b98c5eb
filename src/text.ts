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

/** Left-aligned columns two spaces apart, the header row first; colour codes take no room. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => visible(r[i] ?? '').length)))
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat(Math.max(0, widths[i] - visible(c).length))))
      .join('  ')
      .trimEnd()
  return [line(header), ...rows.map(line)].join('\n')
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
