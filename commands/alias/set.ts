import {Args, Flags} from '@oclif/core'
import {MorphoCommand} from '../../src/cli/base.js'
import type {AliasResult} from '../../src/registry/index.js'

export default class AliasSet extends MorphoCommand {
  static override summary = 'Point an alias at a version (it moves if it already exists).'

  static override description =
    'Aliases are names for versions beside the four stages. A letter, then letters, digits, "_" or "-"; stage names, "latest" and v<number> are reserved.'

  static override examples = [
    '<%= config.bin %> alias set champion 4',
    '<%= config.bin %> alias set challenger 5 --model spirals --json',
  ]

  static override args = {
    name: Args.string({description: 'The alias.', required: true}),
    version: Args.string({description: 'Version number (or another alias).', required: true}),
  }

  static override flags = {
    model: Flags.string({description: 'Model name [default: the only model].'}),
  }

  async run(): Promise<AliasResult> {
    const {parseVersionRef, setAlias} = await import('../../src/registry/index.js')
    const {args, flags} = await this.parse(AliasSet)
    const result = await setAlias(await this.store(flags), {
      model: flags.model,
      alias: args.name,
      version: parseVersionRef(args.version),
    })
    const target = this.paint.bold(`${result.model} v${result.version}`)
    if (result.noop) this.log(`alias ${result.alias} already points at ${target}; nothing changed`)
    else if (result.previous === null) this.log(`alias ${result.alias} → ${target}`)
    else this.log(`alias ${result.alias} → ${target} (was v${result.previous})`)
    return result
  }
}
