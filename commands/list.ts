import {Flags} from '@oclif/core'
import {MorphoCommand} from '../src/cli/base.js'
import {stageFlag, stageOf} from '../src/cli/flags.js'
import {versionsTable} from '../src/cli/registry-tables.js'
import type {VersionView} from '../src/registry/index.js'

export default class List extends MorphoCommand {
  static override summary = 'List registered versions, newest first.'

  static override description =
    'Without --model, every model is listed (one table, with a MODEL column when there are several). An empty listing is a success (exit 0); a --model that is not registered is not found (exit 4).'

  static override examples = [
    '<%= config.bin %> list',
    '<%= config.bin %> list --stage Production',
    '<%= config.bin %> list --model spirals --json',
  ]

  static override flags = {
    stage: stageFlag('Only versions in this stage'),
    model: Flags.string({description: 'Only this model.'}),
  }

  async run(): Promise<{versions: VersionView[]}> {
    const {listVersions} = await import('../src/registry/index.js')
    const {flags} = await this.parse(List)
    const stage = stageOf(flags.stage)
    const versions = await listVersions(await this.store(flags), {model: flags.model, stage})
    if (versions.length === 0) {
      const where = [flags.model && `of ${flags.model}`, stage && `in stage ${stage}`].filter(Boolean).join(' ')
      this.log(
        stage
          ? `No versions ${where}.`
          : `No versions${where ? ` ${where}` : ''} yet. Register a run with morpho register <run-id>, or train one with morpho train.`,
      )
      return {versions}
    }
    this.log(versionsTable(versions))
    return {versions}
  }
}
