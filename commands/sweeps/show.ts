import {Args} from '@oclif/core'
import {MorphoCommand} from '../../src/cli/base.js'
import type {SweepPlan} from '../../src/sweep/config.js'
import type {SweepReport} from '../../src/sweep/record.js'

export default class SweepsShow extends MorphoCommand {
  static override summary = 'Show one sweep: its grid, every run ranked, and what is still to run.'

  static override examples = ['<%= config.bin %> sweeps show sweep-3f9c1a2b4d5e --json']

  static override args = {id: Args.string({description: 'The sweep id (morpho sweeps list).', required: true})}

  async run(): Promise<SweepReport & {plan: SweepPlan; createdAt: string}> {
    const {args, flags} = await this.parse(SweepsShow)
    const [{sweepReport}, {present}] = await Promise.all([
      import('../../src/sweep/index.js'),
      import('../../src/cli/sweep-run.js'),
    ])
    const report = await sweepReport(await this.store(flags), args.id)
    const axes = report.plan.axes.map((a) => `${a.flag}=${a.values.map((v) => String(v)).join(',')}`)
    this.log(`${report.id}  grid ${axes.join(' ')}  (${report.total} combinations)`)
    present({note: (l) => this.note(l), log: (l) => this.log(l)}, report)
    return report
  }
}
