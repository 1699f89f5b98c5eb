import {Flags} from '@oclif/core'
import {MorphoCommand} from '../src/cli/base.js'
import {historyTable} from '../src/cli/registry-tables.js'
import type {HistoryEntry} from '../src/registry/index.js'

export default class History extends MorphoCommand {
  static override summary = 'The audit trail: every registration, stage change, rollback and alias change.'

  static override description =
    'Newest first, with time, from/to, the rule or reason, and who (user@host). Without --model, all models.'

  static override examples = [
    '<%= config.bin %> history',
    '<%= config.bin %> history --model spirals --limit 20',
    '<%= config.bin %> history --json',
  ]

  static override flags = {
    model: Flags.string({description: 'Only this model.'}),
    limit: Flags.integer({description: 'At most this many entries.', min: 1}),
  }

  async run(): Promise<{entries: HistoryEntry[]; total: number}> {
    const {historyListing} = await import('../src/registry/index.js')
    const {flags} = await this.parse(History)
    const listing = await historyListing(await this.store(flags), {model: flags.model, limit: flags.limit})
    this.log(listing.entries.length === 0 ? 'No history yet.' : historyTable(listing.entries))
    if (listing.total > listing.entries.length) this.log(`(the newest ${listing.entries.length} of ${listing.total})`)
    return listing
  }
}
