import {Args, Flags} from '@oclif/core'
import {MorphoCommand} from '../../src/cli/base.js'
import type {SweepReport} from '../../src/sweep/record.js'

export default class SweepReportCommand extends MorphoCommand {
  static override summary = 'Rank every run of a sweep from the store, whichever machines ran its shards.'

  static override description =
    'Completed runs best first, then failed ones; says which combinations have not finished. With --register-best, registers the best run once the grid is complete, unless a shard already did.'

  static override examples = [
    '<%= config.bin %> sweep report sweep-3f9c1a2b4d5e',
    '<%= config.bin %> sweep report sweep-3f9c1a2b4d5e --register-best --json',
  ]

  static override args = {id: Args.string({description: 'The sweep id (morpho sweeps list).', required: true})}

  static override flags = {
    'register-best': Flags.boolean({description: 'Register the best run if the grid is complete and none is yet.'}),
    model: Flags.string({description: 'Model name for --register-best [default: the problem].'}),
  }

  async run(): Promise<SweepReport> {
    const {args, flags} = await this.parse(SweepReportCommand)
    const [{sweepReport}, {present}] = await Promise.all([
      import('../../src/sweep/index.js'),
      import('../../src/cli/sweep-run.js'),
    ])
    const report = await sweepReport(await this.store(flags), args.id, {
      registerBest: flags['register-best'],
      model: flags.model,
    })
    present({note: (l) => this.note(l), log: (l) => this.log(l)}, report)
    return report
  }
}
