import {Args} from '@oclif/core'
import {MorphoCommand} from '../../src/cli/base.js'
import {eventLine} from '../../src/cli/lines.js'
import type {RunDetailView} from '../../src/contract/runs.js'
import {localTime, metric, table} from '../../src/text.js'

export default class RunsShow extends MorphoCommand {
  static override summary = 'Show one run: parameters, summary, per-epoch metrics and seed events.'

  static override examples = [
    '<%= config.bin %> runs show spirals-20261129-141503-a3f9c1',
    '<%= config.bin %> runs show <run-id> --json',
  ]

  static override args = {
    'run-id': Args.string({description: 'The run id (see `morpho runs list`).', required: true}),
  }

  static override flags = {}

  async run(): Promise<RunDetailView> {
    const {runDetailView} = await import('../../src/contract/runs.js')
    const {args, flags} = await this.parse(RunsShow)
    const details = await runDetailView(await this.store(flags), args['run-id'])
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
    this.log(`\n${p.bold('Parameters')}`)
    this.log(
      table(
        ['NAME', 'VALUE'],
        Object.entries(r.params).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : String(v)]),
      ),
    )
    this.log(`\n${p.bold('Epochs')}`)
    this.log(
      table(
        ['EPOCH', 'PHASE', 'TRAIN_LOSS', 'VAL_LOSS', 'VAL_ACC', 'SEEDS D/T/B/A'],
        metrics.map((m) => [
          String(m.epoch),
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
