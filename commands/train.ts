import {Flags} from '@oclif/core'
import {MorphoCommand} from '../src/cli/base.js'
import {optionsFromFlags, trainOptionFlags} from '../src/cli/train-flags.js'
import {BACKEND_CHOICES, resolveBackend} from '../src/config.js'
import {MorphoError} from '../src/errors.js'
import type {TrainOutcome} from '../src/pipeline/train-and-register.js'
import {DEFAULT_REGISTER_AT, DEFAULT_STAGE_AT, parseFraction, parseThreshold} from '../src/registry/thresholds.js'
import type {SweepOutcome} from '../src/sweep/index.js'
import {resolveTrainOptions} from '../src/training/options.js'

export default class Train extends MorphoCommand {
  static override summary = 'Train a morphogenetic network, track the run, and register the model if it is good enough.'

  static override description =
    `Phase 1 trains the backbone; phase 2 freezes it and germinates sentinel seeds when validation loss plateaus. The run lands in <store>/runs/<id>/. A model reaching val_acc ${DEFAULT_REGISTER_AT} is registered, and at ${DEFAULT_STAGE_AT} promoted to Staging (see --register-at, --stage-at).`

  static override examples = [
    '<%= config.bin %> train',
    '<%= config.bin %> train --problem moons --seed 7 --json',
    '<%= config.bin %> train --data points.csv --hidden-dim 64 --num-layers 4',
    '<%= config.bin %> train --warm-up-epochs 50 --adaptation-epochs 200 --lr-step 20   # the original schedule',
  ]

  static override flags = {
    ...trainOptionFlags(),
    backend: Flags.string({
      description: 'TF.js backend [default: $MORPHO_BACKEND, else auto].',
      options: [...BACKEND_CHOICES],
    }),
    'register-at': Flags.string({
      description: 'Register the model when val_acc reaches this (off: never).',
      default: DEFAULT_REGISTER_AT.toFixed(2),
      helpGroup: 'REGISTRY',
    }),
    'stage-at': Flags.string({
      description: 'Promote it to Staging when val_acc reaches this (off: register only).',
      default: DEFAULT_STAGE_AT.toFixed(2),
      helpGroup: 'REGISTRY',
    }),
    'no-register': Flags.boolean({description: 'Do not register or promote automatically.', helpGroup: 'REGISTRY'}),
    model: Flags.string({
      description: 'Registered model name [default: the problem, or the CSV file name].',
      helpGroup: 'REGISTRY',
    }),
    'metrics-port': Flags.integer({
      description: "Expose the run's Prometheus metrics on this port while it trains (0: any free port).",
      min: 0,
      max: 65535,
      helpGroup: 'MONITORING',
    }),
    'metrics-host': Flags.string({
      description: 'Address for --metrics-port.',
      default: '127.0.0.1',
      helpGroup: 'MONITORING',
    }),
    'min-val-acc': Flags.string({description: 'Exit 3 when the final val_acc is below this (for CI gates).'}),
    quiet: Flags.boolean({char: 'q', description: 'No progress lines.'}),
    'sweep-config': Flags.string({
      char: 's',
      description:
        "Run the sweep in this file instead of one run (the original's flag; the same as `morpho sweep --config FILE`). Training flags given here apply to every run that the file does not set.",
      helpGroup: 'SWEEP',
    }),
    device: Flags.string({
      description:
        "The original's device flag. morpho trains on the CPU, through the backend --backend picks; cuda is accepted and says so.",
      options: ['cpu', 'cuda'],
    }),
  }

  async run(): Promise<TrainOutcome | SweepOutcome> {
    const {flags} = await this.parse(Train)
    if (flags.device === 'cuda') this.note('--device cuda: morpho has no GPU backend; training on the CPU')
    const given = optionsFromFlags(flags)
    if (flags['sweep-config'] !== undefined) {
      // `morpho sweep --config FILE`, with this command line under every run.
      const {runSweepFromCli} = await import('../src/cli/sweep-run.js')
      return runSweepFromCli(
        {note: (line) => this.note(line), log: (line) => this.log(line)},
        {config: flags['sweep-config'], base: given},
        {store: await this.store(flags), backend: flags.backend},
      )
    }
    const options = resolveTrainOptions(given)
    const registerAt = flags['no-register'] ? null : parseThreshold('register-at', flags['register-at'])
    const stageAt = flags['no-register'] ? null : parseThreshold('stage-at', flags['stage-at'])
    const minValAcc =
      flags['min-val-acc'] === undefined ? undefined : parseFraction('min-val-acc', flags['min-val-acc'])

    // Loaded here, not at the top: every command module is imported at start-up.
    const [{trainAndRegister}, {progressObserver}] = await Promise.all([
      import('../src/pipeline/train-and-register.js'),
      import('../src/cli/progress.js'),
    ])
    const abort = new AbortController()
    const onSigint = () => {
      if (abort.signal.aborted) process.exit(130)
      this.note(
        'interrupt: stopping now and marking the run interrupted (the unfinished epoch is not recorded; Ctrl-C again to quit at once)',
      )
      abort.abort()
    }
    process.on('SIGINT', onSigint)
    process.on('SIGTERM', onSigint)
    try {
      const outcome = await trainAndRegister(
        {
          options,
          store: await this.store(flags),
          backend: resolveBackend(flags.backend),
          morphoVersion: this.config.version,
          observers: flags.quiet ? [] : [progressObserver()],
          signal: abort.signal,
        },
        {registerAt, stageAt, model: flags.model},
        flags['metrics-port'] === undefined
          ? undefined
          : {
              port: flags['metrics-port'],
              host: flags['metrics-host'],
              onListening: (url) => this.note(`metrics on ${url}`),
            },
      )
      this.present(outcome)
      if (minValAcc !== undefined && outcome.run.summary.val_acc < minValAcc) {
        throw new MorphoError(
          'THRESHOLD_NOT_MET',
          `val_acc ${outcome.run.summary.val_acc.toFixed(4)} is below --min-val-acc ${minValAcc}`,
          {
            hint: `The run is saved as ${outcome.run.runId}.`,
            details: {run: outcome.run.runId, val_acc: outcome.run.summary.val_acc},
          },
        )
      }
      return outcome
    } finally {
      process.off('SIGINT', onSigint)
      process.off('SIGTERM', onSigint)
    }
  }

  private present({run, registry}: TrainOutcome): void {
    const s = run.summary
    const p = this.paint
    this.log(`${p.bold(run.runId)}  ${run.problem}  ${run.backend.name}  ${run.seconds.toFixed(1)} s`)
    this.log(
      `  val_acc ${p.bold(s.val_acc.toFixed(4))} (best ${s.best_val_acc.toFixed(4)} at epoch ${s.best_epoch})  val_loss ${s.val_loss.toFixed(4)} (best ${s.best_val_loss.toFixed(4)})`,
    )
    this.log(
      `  seeds germinated ${s.seeds_germinated}/${s.seeds_total}, active ${s.seeds_active}  parameters ${s.parameters.toLocaleString('en-US')}`,
    )
    for (const line of registry.messages) this.log(`  ${line}`)
  }
}
