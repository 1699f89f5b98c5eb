import {MorphoCommand} from '../../src/cli/base.js'
import type {RunListView} from '../../src/contract/runs.js'
import {localTime, metric, table} from '../../src/text.js'

export default class RunsList extends MorphoCommand {
  static override summary = 'List tracked training runs, newest first.'

  static override description =
    'An empty listing is a success (exit 0) with no rows; with --json, {"runs": [], "total": 0, "skipped": []}. A run whose record cannot be read is listed in skipped, with the reason; the others still list.'

  static override examples = [
    '<%= config.bin %> runs list',
    '<%= config.bin %> runs list --json | jq -r ".runs[0].runId"',
  ]

  static override flags = {}

  async run(): Promise<RunListView> {
    const {listRunViews} = await import('../../src/contract/runs.js')
    const {flags} = await this.parse(RunsList)
    const listing = await listRunViews(await this.store(flags))
    for (const s of listing.skipped) this.note(`skipped run ${s.runId}: ${s.error}`)
    if (listing.runs.length === 0) {
      this.log('No runs yet. Train one with morpho train.')
      return listing
    }
    this.log(
      table(
        ['RUN', 'STATUS', 'PROBLEM', 'VAL_ACC', 'BEST', 'SEEDS', 'BACKEND', 'SECONDS', 'CREATED'],
        listing.runs.map((r) => [
          r.runId,
          r.status,
          r.problem,
          metric(r.summary?.val_acc),
          metric(r.summary?.best_val_acc),
          r.summary ? `${r.summary.seeds_germinated}/${r.summary.seeds_total}` : '-',
          r.backend?.name ?? '-',
          r.seconds === null ? '-' : r.seconds.toFixed(1),
          localTime(r.createdAt),
        ]),
      ),
    )
    return listing
  }
}
