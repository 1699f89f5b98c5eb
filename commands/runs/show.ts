import {Args, Flags} from '@oclif/core'
import {MorphoCommand} from '../../src/cli/base.js'
import {eventLine} from '../../src/cli/lines.js'
import type {RunDetailView} from '../../src/contract/runs.js'
import {localTime, metric, table} from '../../src/text.js'

export default class RunsShow extends MorphoCommand {
  static override summary = 'Show one run: its summary, the parameters set, key epochs and seed events.'

  static override description =
    'RUN-ID is an id, the start of one, or latest. By default: the parameters set away from their defaults and the first, saved and last epochs; --params gives every parameter that applies to the run (a moons run has no spirals noise), --epochs every epoch. --json always gives everything.'

  static override examples = [
    '<%= config.bin %> runs show spirals-20261129-141503-a3f9c1',
    '<%= config.bin %> runs show latest --epochs --params',
    '<%= config.bin %> runs show <run-id> --json',
  ]

  static override args = {
    'run-id': Args.string({
      description: 'The run: its id, the start of one, or latest (see morpho runs list).',
      required: true,
    }),
  }

  static override flags = {
    epochs: Flags.boolean({description: 'Every epoch, not only the first, saved and last.', default: false}),
    params: Flags.boolean({
      description: 'Every parameter, not only those set away from their defaults.',
      default: false,
    }),
  }

  async run(): Promise<RunDetailView> {
    const {runDetailView} = await import('../../src/contract/runs.js')
    const {resolveRunRef} = await import('../../src/tracking/run-ref.js')
    const {epochRows, paramRows} = await import('../../src/cli/run-view.js')
    const {args, flags} = await this.parse(RunsShow)
    const store = await this.store(flags)
    const details = await runDetailView(store, await resolveRunRef(store, args['run-id']))
    const {run: r, metrics, events} = details
    const p = this.paint
    this.log(
      `${p.bold(r.runId)}  ${r.status}  ${r.problem}  ${r.backend?.name ?? '-'}  created ${localTime(r.createdAt)}`,
    )
    if (r.summary) {
      const s = r.summary
      this.log(
        `val_acc ${metric(s.val_acc)}  val_loss ${metric(s.val_loss)}${s.test_acc === undefined ? '' : `  test_acc ${metric(s.test_acc)}`}  (saved epoch ${s.selected_epoch ?? s.epochs} of ${s.epochs})  seeds ${s.seeds_germinated}/${s.seeds_total} germinated  ${r.seconds?.toFixed(1) ?? '-'} s`,
      )
    }
    if (r.error) this.log(p.red(`error: ${r.error.message}`))
    const params = paramRows(r, flags.params)
    const atDefault = params.atDefault > 0 ? ` (${params.atDefault} more at their defaults: --params)` : ''
    this.log(`\n${p.bold('Parameters')}${atDefault}`)
    this.log(params.rows.length > 0 ? table(['FLAG', 'VALUE'], params.rows) : 'all at their defaults')
    const shown = epochRows(metrics, r.summary?.selected_epoch, flags.epochs)
    const more = shown.length < metrics.length ? ` (${shown.length} of ${metrics.length}: --epochs for each)` : ''
    this.log(`\n${p.bold('Epochs')}${more}`)
    this.log(
      table(
        ['EPOCH', 'PHASE', 'TRAIN_LOSS', 'VAL_LOSS', 'VAL_ACC', 'SEEDS D/T/B/A'],
        shown.map((m) => [
          `${m.epoch}${m.epoch === r.summary?.selected_epoch ? ' saved' : ''}`,
          m.phase,
          metric(m.train_loss),
          metric(m.val_loss),
          metric(m.val_acc),
          `${m.seeds.dormant}/${m.seeds.training}/${m.seeds.blending}/${m.seeds.active}`,
        ]),
      ),
    )
    const lines = events.map((e) => eventLine(e, p)).filter((l): l is string => l !== undefined)
    this.log(`\n${p.bold('Events')}`)
    this.log(lines.length ? lines.join('\n') : 'none')
    return details
  }
}
