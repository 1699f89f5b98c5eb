import {Args, Flags} from '@oclif/core'
import {MorphoCommand} from '../../src/cli/base.js'
import type {AliasResult} from '../../src/registry/index.js'

export default class AliasDelete extends MorphoCommand {
  static override summary = 'Remove an alias (the version stays).'

  static override examples = [
    '<%= config.bin %> alias delete champion',
    '<%= config.bin %> alias delete champion --model spirals --json',
  ]

  static override args = {
    name: Args.string({description: 'The alias.', required: true}),
  }

  static override flags = {
    model: Flags.string({description: 'Model name [default: the only model].'}),
  }

  async run(): Promise<AliasResult> {
    const {deleteAlias} = await import('../../src/registry/index.js')
    const {args, flags} = await this.parse(AliasDelete)
    const result = await deleteAlias(await this.store(flags), {model: flags.model, alias: args.name})
    this.log(`alias ${result.alias} deleted (it pointed at ${this.paint.bold(`${result.model} v${result.version}`)})`)
    return result
  }
}
