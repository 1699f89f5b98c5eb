import {Args, Flags} from '@oclif/core'
import {MorphoCommand} from '../src/cli/base.js'
import type {PromoteResult, PromoteStage} from '../src/registry/index.js'

export default class Promote extends MorphoCommand {
  static override summary = 'Move a version to Staging, Production or Archived.'

  static override description =
    'One atomic registry write. The previous holders of the target stage are Archived; with --no-archive, other Staging holders stay in Staging and the previous Production holder goes back to None (there is never more than one Production version). Without --version: the best version by val_acc that is not Archived (for Staging, not the Production version either; Archived needs --version). Promoting a version to the stage it is already in changes nothing.'

  static override examples = [
    '<%= config.bin %> promote Production --version 3',
    '<%= config.bin %> promote staging --model spirals',
    '<%= config.bin %> promote Production --version champion --reason "passed the shadow test"',
    '<%= config.bin %> promote Staging --version 5 --no-archive --json',
  ]

  static override args = {
    stage: Args.string({description: 'Staging, Production or Archived (any case).', required: true}),
  }

  static override flags = {
    version: Flags.string({description: 'Version number or alias [default: best val_acc, not Archived].'}),
    model: Flags.string({description: 'Model name [default: the only model].'}),
    archive: Flags.boolean({
      description: 'Archive the previous holders of the stage (--no-archive: see the description).',
      default: true,
      allowNo: true,
    }),
    reason: Flags.string({description: 'Why, recorded in the history.'}),
  }

  async run(): Promise<PromoteResult> {
    const {parseStage, parseVersionRef, promote} = await import('../src/registry/index.js')
    const {args, flags} = await this.parse(Promote)
    const stage = parseStage(args.stage, ['Staging', 'Production', 'Archived']) as PromoteStage
    const result = await promote(await this.store(flags), {
      model: flags.model,
      version: flags.version === undefined ? undefined : parseVersionRef(flags.version),
      stage,
      archive: flags.archive,
      reason: flags.reason,
    })
    const name = this.paint.bold(`${result.model} v${result.version}`)
    if (result.noop) {
      this.log(`${name} is already in ${result.to}; nothing changed`)
      return result
    }
    const moved = result.displaced.map((d) => `${d.to === 'Archived' ? 'archived' : `moved to ${d.to}`} v${d.version}`)
    this.log(`promoted ${name} to ${result.to}${moved.length > 0 ? ` (${moved.join(', ')})` : ''}`)
    return result
  }
}
