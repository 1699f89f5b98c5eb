import {MorphoError} from '../errors.js'
import {selfCommand} from '../runtime.js'
import type {Store} from '../store/store.js'
import type {SweepOutcome, SweepRequest} from '../sweep/index.js'
import {metric as fmt, table} from '../text.js'
import {catchInterrupts} from './interrupt.js'

/** Where a sweep started from the command line writes: progress notes (stderr) and the result (stdout). */
export interface SweepConsole {
  note(line: string): void
  log(line: string): void
}

const show = (params: Record<string, unknown>) =>
  Object.entries(params)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : v}`)
    .join(' ')

/**
 * A sweep as `morpho sweep` (and `morpho train --sweep-config`) runs it: a note as each run
 * starts and ends, the ranked table, and an error after the table when runs failed or the
 * sweep was interrupted.
 */
export async function runSweepFromCli(
  out: SweepConsole,
  request: SweepRequest,
  target: {store: Store; backend?: string},
): Promise<SweepOutcome> {
  const {sweep} = await import('../sweep/index.js')
  // Each run stops as it would on its own Ctrl-C (marked interrupted); the sweep waits for them.
  const interrupts = catchInterrupts(() =>
    out.note('interrupt: stopping the runs in progress and marking them interrupted (again to quit at once)'),
  )
  const outcome = await sweep(request, {
    store: target.store,
    self: selfCommand(),
    extraArgs: target.backend ? ['--backend', target.backend] : [],
    signal: interrupts.signal,
    onStart: ({index, total, params}) => out.note(`[${index + 1}/${total}] ${show(params)}`),
    onDone: (r, total) =>
      out.note(
        `[${r.index + 1}/${total}] ${r.status === 'completed' ? `val_acc ${fmt(r.summary?.val_acc)}  ${r.runId}` : `failed: ${r.error?.message}`}  (${r.seconds.toFixed(1)} s)`,
      ),
  }).finally(() => interrupts.release())
  present(out, outcome)
  const failed = outcome.runs.filter((r) => r.status === 'failed').length
  if (interrupts.signal.aborted) {
    throw new MorphoError('INTERRUPTED', `Sweep interrupted; summary in ${outcome.file}`, {
      hint: 'Each run stopped was marked interrupted; morpho sweep report shows what finished.',
      details: {sweepId: outcome.id, done: outcome.done, total: outcome.total},
    })
  }
  if (failed > 0) {
    throw new MorphoError('INTERNAL', `${failed} of ${outcome.runs.length} runs failed; summary in ${outcome.file}`, {
      hint: 'See each failure above; `morpho runs list` shows the runs that completed.',
    })
  }
  return outcome
}

export function present(out: SweepConsole, o: Omit<SweepOutcome, 'file'> & {file?: string}): void {
  const keys = Object.keys(o.runs[0]?.params ?? {})
  out.log(
    table(
      ['RANK', ...keys.map((k) => k.toUpperCase()), o.metric.toUpperCase(), 'SEEDS', 'RUN'],
      o.runs.map((r, i) => [
        r.status === 'completed' ? String(i + 1) : '-',
        ...keys.map((k) => String(r.params[k])),
        r.status === 'completed' ? fmt(r.value) : 'failed',
        r.summary ? `${r.summary.seeds_germinated}/${r.summary.seeds_total}` : '-',
        r.runId ?? (r.error?.message.slice(0, 60) as string),
      ]),
    ),
  )
  if (o.best) out.log(`best: ${show(o.best.params)}  ${o.metric} ${fmt(o.best.value)}  run ${o.best.runId}`)
  if (o.registered) out.log(`registered ${o.registered.model} v${o.registered.version} (run ${o.registered.runId})`)
  if (o.shard) out.log(`shard ${o.shard.index}/${o.shard.count}: ran ${o.shard.ran}`)
  if (!o.complete) out.log(`the grid: ${o.done} of ${o.total} combinations done; see morpho sweep report ${o.id}`)
  if (o.file) out.log(`summary: ${o.file}`)
}
