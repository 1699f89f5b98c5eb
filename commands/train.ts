import {Flags} from '@oclif/core'
import {MorphoCommand} from '../src/cli/base.js'
import {catchInterrupts} from '../src/cli/interrupt.js'
import {optionsFromFlags, trainOptionFlags} from '../src/cli/train-flags.js'
import {BACKEND_CHOICES, resolveBackend} from '../src/config.js'
import type {RunView} from '../src/contract/runs.js'
import {MorphoError} from '../src/errors.js'
import type {TrainOutcome} from '../src/pipeline/train-and-register.js'
import {
  DEFAULT_REGISTER_AT,
  DEFAULT_STAGE_AT,
  GATE_METRICS,
  type GateMetric,
  parseFraction,
  parseThreshold,
} from '../src/registry/thresholds.js'
import type {SweepOutcome} from '../src/sweep/index.js'
import {resolveTrainOptions} from '../src/training/options.js'

/** `train --json`: the run as `runs show` gives it, and what the registry did with it. */
export interface TrainResult {
  run: RunView
  /** With --min-val-acc (a gate that fails is the error THRESHOLD_NOT_MET instead). */
  gate?: TrainOutcome['gate']
  registry: TrainOutcome['registry']
}

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
      description: 'Register the model when its --gate-metric reaches this (off: never).',
      default: DEFAULT_REGISTER_AT.toFixed(2),
      helpGroup: 'REGISTRY',
    }),
    'stage-at': Flags.string({
      description: 'Promote it to Staging when its --gate-metric reaches this (off: register only).',
      default: DEFAULT_STAGE_AT.toFixed(2),
      helpGroup: 'REGISTRY',
    }),
    'gate-metric': Flags.string({
      description: 'The metric --register-at and --stage-at compare: val_acc, or test_acc on the held-out test set.',
      options: [...GATE_METRICS],
      default: 'val_acc',
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
    'min-val-acc': Flags.string({
      description:
        "Exit 3, registering and promoting nothing, when the saved model's val_acc is below this (for CI gates).",
    }),
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

  async run(): Promise<TrainResult | SweepOutcome> {
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
    const [{trainAndRegister}, {progressObserver}, {runViewOf}] = await Promise.all([
      import('../src/pipeline/train-and-register.js'),
      import('../src/cli/progress.js'),
      import('../src/contract/runs.js'),
    ])
    const interrupts = catchInterrupts(() =>
      this.note(
        'interrupt: stopping now and marking the run interrupted (the unfinished epoch is not recorded; Ctrl-C again to quit at once)',
      ),
    )
    try {
      const store = await this.store(flags)
      const outcome = await trainAndRegister(
        {
          options,
          store,
          backend: resolveBackend(flags.backend),
          morphoVersion: this.config.version,
          observers: flags.quiet ? [] : [progressObserver()],
          signal: interrupts.signal,
        },
        {registerAt, stageAt, model: flags.model, gateMetric: flags['gate-metric'] as GateMetric, minValAcc},
        flags['metrics-port'] === undefined
          ? undefined
          : {
              port: flags['metrics-port'],
              host: flags['metrics-host'],
              onListening: (url) => this.note(`metrics on ${url}`),
            },
      )
      this.present(outcome)
      const {gate, run} = outcome
      if (gate && !gate.passed) {
        throw new MorphoError(
          'THRESHOLD_NOT_MET',
          `val_acc ${gate.value.toFixed(4)} is below --min-val-acc ${gate.threshold}: run ${run.runId} is saved; nothing was registered or promoted`,
          {
            hint: `Register it anyway with \`morpho register ${run.runId}\`.`,
            details: {runId: run.runId, ...gate, saved: true, registered: false, promoted: false},
          },
        )
      }
      // The run as `runs show` gives it, beside what the registry did.
      return {
        run: await runViewOf(store, run.runId),
        ...(gate ? {gate} : {}),
        registry: outcome.registry,
      }
    } finally {
      interrupts.release()
    }
  }

  private present({run, registry}: TrainOutcome): void {
    const s = run.summary
    const p = this.paint
    const f = (v: number) => v.toFixed(4)
    const how = run.params.checkpoint === 'last' ? 'the last epoch' : 'lowest val_loss'
    this.log(`${p.bold(run.runId)}  ${run.problem}  ${run.backend.name}  ${run.seconds.toFixed(1)} s`)
    this.log(
      `  saved epoch ${s.selected_epoch} (${how}): val_acc ${p.bold(f(s.val_acc))}  val_loss ${f(s.val_loss)}   last epoch ${s.final_epoch}: val_acc ${f(s.final_val_acc)}  val_loss ${f(s.final_val_loss)}`,
    )
    if (s.test_acc !== undefined) {
      this.log(`  test: acc ${p.bold(f(s.test_acc))}  nll ${f(s.test_loss!)}  ece ${f(s.test_ece!)}`)
    }
    if (s.ended) this.log(`  ${s.ended}`)
    this.log(
      `  seeds germinated ${s.seeds_germinated}/${s.seeds_total}, active in the saved model ${s.seeds_active}  parameters ${s.parameters.toLocaleString('en-US')}`,
    )
    for (const line of registry.messages) this.log(`  ${line}`)
  }
}
