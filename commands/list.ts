import {Flags} from '@oclif/core'
import {MorphoCommand} from '../src/cli/base.js'
import {versionsTable} from '../src/cli/registry-tables.js'
import {notFound} from '../src/errors.js'
import type {VersionView} from '../src/registry/index.js'

export default class List extends MorphoCommand {
  static override summary = 'List registered versions, newest first.'

  static override description =
    'Without --model, every model is listed (one table, with a MODEL column when there are several). Nothing to list is "not found" (exit 4), so a script can tell it from a listing.'

  static override examples = [
    '<%= config.bin %> list',
    '<%= config.bin %> list --stage Production',
    '<%= config.bin %> list --model spirals --json',
  ]

  static override flags = {
    stage: Flags.string({description: 'Only versions in this stage (None, Staging, Production, Archived).'}),
    model: Flags.string({description: 'Only this model.'}),
  }

  async run(): Promise<{versions: VersionView[]}> {
    const {listVersions, parseStage} = await import('../src/registry/index.js')
    const {flags} = await this.parse(List)
    const stage = flags.stage === undefined ? undefined : parseStage(flags.stage)
    const versions = await listVersions(await this.store(flags), {model: flags.model, stage})
    if (versions.length === 0) {
      const where = [flags.model && `of ${flags.model}`, stage && `in stage ${stage}`].filter(Boolean).join(' ')
      throw notFound(`no model versions${where ? ` ${where}` : ''}`, {
        hint: stage
          ? `List every stage with morpho list${flags.model ? ` --model ${flags.model}` : ''}.`
          : 'Register a run with morpho register <run-id>, or train one with morpho train.',
      })
    }
    this.log(versionsTable(versions))
    return {versions}
  }
}
