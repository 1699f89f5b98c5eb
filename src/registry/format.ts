import type {VersionView} from './registry.js'
import type {HistoryEntry} from './schema.js'

/** Plain-text views of registry data for the commands (no colour, no oclif). */

/** "2026-11-29 14:03:07" in the machine's time zone, as the original printed it. */
export function localTime(iso: string): string {
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return 'unknown'
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
}

export function metric(value: number | undefined): string {
  return value === undefined ? '-' : Number.isInteger(value) ? String(value) : value.toFixed(4)
}

/** Left-aligned columns two spaces apart; the header row first. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd()
  return [line(header), ...rows.map(line)].join('\n')
}

export function versionsTable(versions: readonly VersionView[]): string {
  const several = new Set(versions.map((v) => v.model)).size > 1
  const header = ['VERSION', 'STAGE', 'ALIASES', 'VAL_ACC', 'RUN', 'CREATED']
  const rows = versions.map((v) => [
    `v${v.version}`,
    v.stage,
    v.aliases.join(',') || '-',
    metric(v.metrics.val_acc),
    v.runId,
    localTime(v.createdAt),
  ])
  return several
    ? table(
        ['MODEL', ...header],
        rows.map((r, i) => [versions[i]!.model, ...r]),
      )
    : table(header, rows)
}

export function historyTable(entries: readonly HistoryEntry[]): string {
  const show = (x: string | number | null) => (x === null ? '-' : typeof x === 'number' ? `v${x}` : x)
  return table(
    ['SEQ', 'TIME', 'MODEL', 'VERSION', 'ACTION', 'FROM', 'TO', 'BY', 'REASON'],
    entries.map((e) => [
      String(e.seq),
      localTime(e.time),
      e.model,
      `v${e.version}`,
      e.alias === undefined ? e.action : `${e.action} ${e.alias}`,
      show(e.from),
      show(e.to),
      `${e.actor.user}@${e.actor.host}`,
      e.reason,
    ]),
  )
}
