import {Flags} from '@oclif/core'
import {MorphoCommand} from '../src/cli/base.js'
import {runSweepFromCli} from '../src/cli/sweep-run.js'
import {optionsFromFlags, trainOptionFlags} from '../src/cli/train-flags.js'
import {BACKEND_CHOICES} from '../src/config.js'
import type {SweepOutcome} from '../src/sweep/index.js'
import {SWEEP_METRICS} from '../src/sweep/metrics.js'
import {resolveShard} from '../src/sweep/shard.js'

export default class Sweep extends MorphoCommand {
  static override summary = 'Train every combination of a grid of training flags, as tracked runs, and rank them.'

  static override description =
    `The grid comes from --config (YAML or JSON) and/or repeated --param flags. A file looks like:

  parameters:            # swept: a list, or a comma-separated string
    hidden-dim: [32, 64]
    lr: 0.001,0.003
  fixed:                 # applied to every run
    problem: moons
    warm-up-epochs: 30
  metric: val_acc        # optional; also lower_is_better, parallel

A file without "parameters" treats every key as a swept flag. Training flags on the command line (--problem moons) are fixed values for every run the grid does not set. Every key and value is checked before anything runs.

Every finished run is recorded in the store under the sweep's id, so the shards of one sweep (--shard I/N, or --shards N in a Kubernetes Indexed Job) can run on different machines against one store; morpho sweep report ID ranks them all, and --register-best registers the best once the whole grid is done.`

  static override examples = [
    '<%= config.bin %> sweep --param hidden-dim=32,64 --param lr=0.001,0.003',
    '<%= config.bin %> sweep --config sweep.yaml --parallel 2 --json',
    '<%= config.bin %> sweep --config sweep.yaml --metric val_loss --lower-is-better --register-best',
    '<%= config.bin %> sweep --problem moons --param hidden-dim=16,32 --warm-up-epochs 20',
    '<%= config.bin %> sweep --config sweep.yaml --shard 0/4 --register-best   # one of four machines',
  ]

  static override flags = {
    config: Flags.string({char: 'c', description: 'Sweep file (YAML or JSON).'}),
    param: Flags.string({char: 'p', description: 'A swept flag: name=v1,v2,… (repeatable).', multiple: true}),
    metric: Flags.string({
      description: 'Rank runs by this summary metric [default: val_acc].',
      options: [...SWEEP_METRICS],
    }),
    'lower-is-better': Flags.boolean({
      description: 'Smaller values rank first [default: for losses and calibration (*_loss, *_ece), as best ranks].',
      allowNo: true,
    }),
    parallel: Flags.integer({description: 'Training processes at once [default: 1].', min: 1, max: 64}),
    backend: Flags.string({description: 'TF.js backend for every run.', options: [...BACKEND_CHOICES]}),
    'register-best': Flags.boolean({description: 'Register the best run as the next version of its model.'}),
    model: Flags.string({description: 'Model name for --register-best [default: the problem].'}),
    shard: Flags.string({
      description: 'Run only shard I of N of the grid (combination k belongs to shard k mod N), e.g. 0/4.',
      helpGroup: 'SHARDS',
    }),
    shards: Flags.integer({
      description: "Run one of N shards, the one Kubernetes' JOB_COMPLETION_INDEX names (an Indexed Job).",
      min: 1,
      helpGroup: 'SHARDS',
    }),
    'sweep-id': Flags.string({
      description: 'The sweep id every shard records its runs under [default: new; sharded: derived from the grid].',
      helpGroup: 'SHARDS',
    }),
    // Any training flag gives a fixed value for every run the grid does not set.
    ...trainOptionFlags(),
  }

  async run(): Promise<SweepOutcome> {
    const {flags} = await this.parse(Sweep)
    return runSweepFromCli(
      {note: (line) => this.note(line), log: (line) => this.log(line)},
      {
        config: flags.config,
        params: flags.param,
        metric: flags.metric,
        lowerIsBetter: flags['lower-is-better'],
        parallel: flags.parallel,
        registerBest: flags['register-best'],
        model: flags.model,
        base: optionsFromFlags(flags),
        shard: resolveShard(flags),
        id: flags['sweep-id'],
      },
      {store: await this.store(flags), backend: flags.backend},
    )
  }
}
