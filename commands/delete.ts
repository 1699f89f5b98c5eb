import {Args, Flags} from '@oclif/core'
import {MorphoCommand} from '../src/cli/base.js'
import type {DeleteVersionResult} from '../src/registry/index.js'

export default class Delete extends MorphoCommand {
  static override summary = 'Delete a registered version; morpho gc removes its files later.'

  static override description =
    'One registry write, recorded in the history (action delete) with the aliases that pointed at the version. Its number is never used again and rollback passes over it. A Production version is refused (exit 5) unless --force. A folder store keeps the files in models/<name>/<version>/ until morpho gc; a database store drops them in the same transaction.'

  static override examples = [
    '<%= config.bin %> delete spirals --version 2',
    '<%= config.bin %> delete --version 3 --reason "trained on the wrong data" --json',
    '<%= config.bin %> delete spirals --version 5 --force',
  ]

  static override args = {
    model: Args.string({description: 'Model name [default: the only model].'}),
  }

  static override flags = {
    version: Flags.integer({description: 'The version number to delete.', required: true, min: 1}),
    force: Flags.boolean({description: 'Delete it even if it is in Production.', default: false}),
    reason: Flags.string({description: 'Why, recorded in the history.'}),
  }

  async run(): Promise<DeleteVersionResult> {
    const {deleteVersion} = await import('../src/registry/index.js')
    const {args, flags} = await this.parse(Delete)
    const result = await deleteVersion(await this.store(flags), {
      model: args.model,
      version: flags.version,
      force: flags.force,
      reason: flags.reason,
    })
    const aliases = result.aliases.length > 0 ? `, aliases ${result.aliases.join(', ')} removed` : ''
    this.log(`deleted ${this.paint.bold(`${result.model} v${result.version}`)} (was ${result.stage}${aliases})`)
    if (result.filesKept) this.log('  its files stay until morpho gc')
    return result
  }
}
