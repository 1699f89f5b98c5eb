import {Flags} from '@oclif/core'
import {MorphoCommand} from '../src/cli/base.js'
import {stageFlag, stageOf} from '../src/cli/flags.js'
import type {BestResult} from '../src/registry/index.js'
import {localTime, metric} from '../src/text.js'

export default class Best extends MorphoCommand {
  static override summary = 'The best version by a metric.'

  static override description =
    'Which way is better comes from the metric: losses, calibration (ece), error rates, accuracy_dip and recovery_epochs are better low, everything else high (--lower-is-better / --no-lower-is-better overrides). Versions without the metric are skipped (never counted as 0); on a tie the newest version wins. All stages count unless --stage is given. Nothing to compare exits 4.'

  static override examples = [
    '<%= config.bin %> best',
    '<%= config.bin %> best --metric val_loss',
    '<%= config.bin %> best --stage Staging --json',
  ]

  static override flags = {
    metric: Flags.string({description: 'Metric from the run summary.', default: 'val_acc'}),
    'lower-is-better': Flags.boolean({
      description: 'Smaller values win [default: for losses, ECE, error rates, accuracy_dip, recovery_epochs].',
      allowNo: true,
    }),
    stage: stageFlag('Only versions in this stage'),
    model: Flags.string({description: 'Model name [default: the only model].'}),
  }

  async run(): Promise<BestResult> {
    const {findBest} = await import('../src/registry/index.js')
    const {flags} = await this.parse(Best)
    const result = await findBest(await this.store(flags), {
      model: flags.model,
      metric: flags.metric,
      lowerIsBetter: flags['lower-is-better'],
      stage: stageOf(flags.stage),
    })
    const e = result.entry
    this.log(
      `best ${this.paint.bold(`${result.model} v${result.version}`)}: ${result.metric} ${metric(result.value)} (${result.lowerIsBetter ? 'lowest' : 'highest'})`,
    )
    this.log(`  stage ${e.stage}, run ${e.runId}, created ${localTime(e.createdAt)}`)
    this.log(
      `  compared ${result.considered} version(s)${result.skipped > 0 ? `, ${result.skipped} without ${result.metric}` : ''}`,
    )
    return result
  }
}
