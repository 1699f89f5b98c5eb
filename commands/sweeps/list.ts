import {MorphoCommand} from '../../src/cli/base.js'
import type {SweepSummary} from '../../src/sweep/record.js'
import {localTime, metric, table} from '../../src/text.js'

export default class SweepsList extends MorphoCommand {
  static override summary = 'List the sweeps in the store, newest first.'

  static override examples = [
    '<%= config.bin %> sweeps list',
    '<%= config.bin %> sweeps list --json | jq -r ".sweeps[0].id"',
  ]

  async run(): Promise<{sweeps: SweepSummary[]}> {
    const {flags} = await this.parse(SweepsList)
    const {listSweeps} = await import('../../src/sweep/record.js')
    const result = await listSweeps(await this.store(flags))
    this.log(
      table(
        ['SWEEP', 'METRIC', 'DONE', 'BEST', 'BEST RUN', 'REGISTERED', 'CREATED'],
        result.sweeps.map((s) => [
          s.id,
          s.metric,
          `${s.done}/${s.total}`,
          metric(s.best?.value),
          s.best?.runId ?? '-',
          s.registered ? `${s.registered.model} v${s.registered.version}` : '-',
          localTime(s.createdAt),
        ]),
      ),
    )
    return result
  }
}
