import type {VersionView} from '../registry/queries.js'
import type {HistoryEntry} from '../registry/schema.js'
import {localTime, metric, table} from '../text.js'

/** Plain-text tables of registry data for the commands (no colour, no oclif). */

// What people copy from a listing into the next command stays whole on a narrow terminal.
const KEEP = ['MODEL', 'VERSION', 'RUN']

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
        {keep: KEEP},
      )
    : table(header, rows, {keep: KEEP})
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
