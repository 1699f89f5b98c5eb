import {Args, Flags} from '@oclif/core'
import {MorphoCommand} from '../src/cli/base.js'
import {interruptible} from '../src/cli/interrupt.js'
import type {RegisterResult} from '../src/registry/index.js'
import {metric} from '../src/text.js'

export default class Register extends MorphoCommand {
  static override summary = "Register a completed run's model as the next version of a model."

  static override description =
    'Copies runs/<run-id>/model/ into models/<name>/<version>/ with a sha256 manifest and records the version (stage None). Version numbers only grow and are never reused.'

  static override examples = [
    '<%= config.bin %> register spirals-20261129-140307-a1b2c3',
    '<%= config.bin %> register spirals-20261129-140307-a1b2c3 --model spirals-wide --description "wider hidden layer" --tag owner=ana --tag dataset=v2',
    '<%= config.bin %> register latest --json',
  ]

  static override args = {
    'run-id': Args.string({
      description: 'The run to register: its id, the start of one, or latest (see morpho runs list).',
      required: true,
    }),
  }

  static override flags = {
    model: Flags.string({description: "Model name [default: the run's problem]."}),
    description: Flags.string({description: 'A description of this version.'}),
    tag: Flags.string({
      description: 'A key=value tag (repeatable; split on the first "=").',
      multiple: true,
      aliases: ['tags'],
    }),
  }

  async run(): Promise<RegisterResult> {
    const {parseTags, registerRun} = await import('../src/registry/index.js')
    const {resolveRunRef} = await import('../src/tracking/run-ref.js')
    const {args, flags} = await this.parse(Register)
    const store = await this.store(flags)
    const runId = await resolveRunRef(store, args['run-id'])
    const result = await interruptible((signal) =>
      registerRun(store, runId, {
        model: flags.model,
        description: flags.description,
        tags: parseTags(flags.tag),
        signal,
      }),
    )
    const p = this.paint
    this.log(
      `registered ${p.bold(`${result.model} v${result.version}`)} (val_acc ${metric(result.entry.metrics.val_acc)}, run ${result.entry.runId})`,
    )
    this.log(`  files: ${result.entry.dir}`)
    return result
  }
}
