import {MorphoCommand} from '../../src/cli/base.js'
import {notFound} from '../../src/errors.js'
import {localTime, metric, table} from '../../src/text.js'
import type {RunRecord} from '../../src/tracking/types.js'

export default class RunsList extends MorphoCommand {
  static override summary = 'List tracked training runs, newest first.'

  static override description = 'No runs at all is "not found" (exit 4).'

  static override examples = ['<%= config.bin %> runs list', '<%= config.bin %> runs list --json | jq ".[0].id"']

  static override flags = {}

  async run(): Promise<RunRecord[]> {
    const {flags} = await this.parse(RunsList)
    const {runs} = await (await this.store(flags)).runs.list()
    if (runs.length === 0) throw notFound('no runs yet', {hint: 'Train one with morpho train.'})
    this.log(
      table(
        ['RUN', 'STATUS', 'PROBLEM', 'VAL_ACC', 'BEST', 'SEEDS', 'BACKEND', 'SECONDS', 'CREATED'],
        runs.map((r) => [
          r.id,
          r.status,
          r.problem,
          metric(r.summary?.val_acc),
          metric(r.summary?.best_val_acc),
          r.summary ? `${r.summary.seeds_germinated}/${r.summary.seeds_total}` : '-',
          r.backend.name,
          r.seconds === undefined ? '-' : r.seconds.toFixed(1),
          localTime(r.createdAt),
        ]),
      ),
    )
    return runs
  }
}
