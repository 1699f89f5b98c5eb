import {Flags} from '@oclif/core'
import {MorphoCommand} from '../../src/cli/base.js'
import {interruptible} from '../../src/cli/interrupt.js'
import type {CopyResult} from '../../src/store/copy.js'

export default class StoreCopy extends MorphoCommand {
  static override summary = 'Copy everything a store holds into an empty one: a folder to PostgreSQL, or back.'

  static override description =
    'Runs (record, per-epoch metrics, events, model files), registered versions with their files, stages, aliases, the history and sweeps. Every version is verified against its sha256 manifest before it is copied and again where it lands; model files arrive byte for byte. The target must be empty (exit 5 otherwise); a damaged source is refused (exit 7) before anything is written.'

  static override examples = [
    '<%= config.bin %> store copy --from ./.morpho --to postgres://morpho@db.internal/morpho',
    '<%= config.bin %> store copy --from "$MORPHO_STORE" --to ./backup --json',
  ]

  static override flags = {
    from: Flags.string({description: 'The store to copy: a folder or a postgres:// URL.', required: true}),
    to: Flags.string({description: 'The empty store to copy into: a folder or a postgres:// URL.', required: true}),
  }

  async run(): Promise<CopyResult> {
    const {flags} = await this.parse(StoreCopy)
    const {copyStore} = await import('../../src/store/copy.js')
    const from = await this.store({store: flags.from})
    const to = await this.store({store: flags.to})
    const result = await interruptible((signal) => copyStore(from, to, (line) => this.note(line), signal))
    this.log(
      `copied ${result.runs} runs, ${result.versions} versions of ${result.models} models, ${result.aliases} aliases and ${result.history} history entries from ${result.from} to ${result.to}`,
    )
    return result
  }
}
