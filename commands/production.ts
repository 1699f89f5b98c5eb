import {Flags} from '@oclif/core'
import {MorphoCommand} from '../src/cli/base.js'
import type {ProductionResult} from '../src/registry/index.js'
import {localTime, metric} from '../src/text.js'

export default class Production extends MorphoCommand {
  static override summary = 'The Production version and where its files are.'

  static override description =
    'The files are checked against the sha256 manifest (exit 7 if they changed). No Production version exits 4.'

  static override examples = ['<%= config.bin %> production', '<%= config.bin %> production --model spirals --json']

  static override flags = {
    model: Flags.string({description: 'Model name [default: the only model].'}),
  }

  async run(): Promise<ProductionResult> {
    const {findProduction} = await import('../src/registry/index.js')
    const {flags} = await this.parse(Production)
    const result = await findProduction(await this.store(flags), {model: flags.model})
    const e = result.entry
    this.log(`${this.paint.bold(result.uri)}  (val_acc ${metric(e.metrics.val_acc)}, run ${e.runId})`)
    this.log(`  files: ${result.dir}`)
    this.log(`  in Production since ${localTime(e.promotedBy?.at ?? e.updatedAt)}`)
    return result
  }
}
