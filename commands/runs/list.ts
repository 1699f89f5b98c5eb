import {Flags} from '@oclif/core'
import {MorphoCommand} from '../../src/cli/base.js'
import type {RunListView} from '../../src/contract/runs.js'
import {localTime, metric, printable, table} from '../../src/text.js'
import {RUN_STATUSES, type RunStatus} from '../../src/tracking/types.js'

export default class RunsList extends MorphoCommand {
  static override summary = 'List tracked training runs, newest first.'

  static override description =
    'An empty listing is a success (exit 0) with no rows; with --json, {"runs": [], "total": 0, "skipped": []}. A run whose record cannot be read is listed in skipped, with the reason; the others still list. --problem and --status filter, --limit keeps the newest N; total counts every match.'

  static override examples = [
    '<%= config.bin %> runs list',
    '<%= config.bin %> runs list --json | jq -r ".runs[0].runId"',
    '<%= config.bin %> runs list --problem moons --status completed --limit 5',
  ]

  static override flags = {
    limit: Flags.integer({description: 'At most this many runs, the newest.', min: 1}),
    problem: Flags.string({description: 'Only runs of this problem (or CSV file name).'}),
    status: Flags.string({description: 'Only runs with this status.', options: [...RUN_STATUSES]}),
  }

  async run(): Promise<RunListView> {
    const {listRunViews} = await import('../../src/contract/runs.js')
    const {flags} = await this.parse(RunsList)
    const listing = await listRunViews(await this.store(flags), {
      problem: flags.problem,
      status: flags.status as RunStatus | undefined,
      limit: flags.limit,
    })
    // What a damaged record's error quotes must not drive the terminal.
    for (const s of listing.skipped) this.note(printable(`skipped run ${s.runId}: ${s.error}`))
    if (listing.runs.length === 0) {
      const filtered = flags.problem !== undefined || flags.status !== undefined
      this.log(filtered ? 'No runs match.' : 'No runs yet. Train one with morpho train.')
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
        {keep: ['RUN']},
      ),
    )
    if (listing.total > listing.runs.length) this.log(`(${listing.runs.length} of ${listing.total}; --limit for more)`)
    return listing
  }
}
