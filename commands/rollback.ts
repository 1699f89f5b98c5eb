import {Flags} from '@oclif/core'
import {MorphoCommand} from '../src/cli/base.js'
import type {RollbackResult} from '../src/registry/index.js'

export default class Rollback extends MorphoCommand {
  static override summary = 'Put the previous Production version back in Production.'

  static override description =
    'The previous one is taken from the history; versions whose files no longer verify are passed over. The current Production version is Archived. Rolling back again keeps going back. Nothing to roll back to exits 4.'

  static override examples = [
    '<%= config.bin %> rollback',
    '<%= config.bin %> rollback --model spirals --reason "latency regression" --json',
  ]

  static override flags = {
    model: Flags.string({description: 'Model name [default: the only model].'}),
    reason: Flags.string({description: 'Why, recorded in the history.'}),
  }

  async run(): Promise<RollbackResult> {
    const {rollback} = await import('../src/registry/index.js')
    const {flags} = await this.parse(Rollback)
    const result = await rollback(await this.store(flags), {model: flags.model, reason: flags.reason})
    for (const s of result.skipped) this.note(`skipped v${s.version}: ${s.reason}`)
    const from = result.from === null ? '' : ` (archived v${result.from})`
    this.log(`rolled back ${this.paint.bold(result.model)} to v${result.version} in Production${from}`)
    return result
  }
}
