import {Flags} from '@oclif/core'
import {MorphoCommand} from '../src/cli/base.js'
import {BACKEND_CHOICES} from '../src/config.js'
import {MorphoError} from '../src/errors.js'
import {metric as fmt, table} from '../src/format.js'
import {selfCommand} from '../src/runtime.js'
import type {SweepOutcome} from '../src/sweep/index.js'
import {SWEEP_METRICS} from '../src/sweep/metrics.js'

const show = (params: Record<string, unknown>) =>
  Object.entries(params)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : v}`)
    .join(' ')

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

A file without "parameters" treats every key as a swept flag. Every key and value is checked before anything runs.`

  static override examples = [
    '<%= config.bin %> sweep --param hidden-dim=32,64 --param lr=0.001,0.003',
    '<%= config.bin %> sweep --config sweep.yaml --parallel 2 --json',
    '<%= config.bin %> sweep --config sweep.yaml --metric val_loss --lower-is-better --register-best',
  ]

  static override flags = {
    config: Flags.string({char: 'c', description: 'Sweep file (YAML or JSON).'}),
    param: Flags.string({char: 'p', description: 'A swept flag: name=v1,v2,… (repeatable).', multiple: true}),
    metric: Flags.string({
      description: 'Rank runs by this summary metric [default: val_acc].',
      options: [...SWEEP_METRICS],
    }),
    'lower-is-better': Flags.boolean({
      description: 'Smaller values rank first [default: true for *_loss metrics].',
      allowNo: true,
    }),
    parallel: Flags.integer({description: 'Training processes at once [default: 1].', min: 1, max: 64}),
    backend: Flags.string({description: 'TF.js backend for every run.', options: [...BACKEND_CHOICES]}),
    'register-best': Flags.boolean({description: 'Register the best run as the next version of its model.'}),
    model: Flags.string({description: 'Model name for --register-best [default: the problem].'}),
    // `morpho train --sweep-config` passes its own training flags through this.
    base: Flags.string({hidden: true, multiple: true}),
  }

  async run(): Promise<SweepOutcome> {
    const {flags} = await this.parse(Sweep)
    const {sweep} = await import('../src/sweep/index.js')
    const abort = new AbortController()
    const onSignal = () => abort.abort()
    process.once('SIGINT', onSignal)
    const outcome = await sweep(
      {
        config: flags.config,
        params: flags.param,
        base: flags.base,
        metric: flags.metric,
        lowerIsBetter: flags['lower-is-better'],
        parallel: flags.parallel,
        registerBest: flags['register-best'],
        model: flags.model,
      },
      {
        paths: this.store(flags.home),
        self: selfCommand(),
        extraArgs: flags.backend ? ['--backend', flags.backend] : [],
        signal: abort.signal,
        onStart: ({index, total, params}) => this.note(`[${index + 1}/${total}] ${show(params)}`),
        onDone: (r, total) =>
          this.note(
            `[${r.index + 1}/${total}] ${r.status === 'completed' ? `val_acc ${fmt(r.summary?.val_acc)}  ${r.runId}` : `failed: ${r.error?.message}`}  (${r.seconds.toFixed(1)} s)`,
          ),
      },
    ).finally(() => process.off('SIGINT', onSignal))
    this.present(outcome)
    const failed = outcome.runs.filter((r) => r.status === 'failed').length
    if (abort.signal.aborted) throw new MorphoError('INTERRUPTED', `Sweep interrupted; summary in ${outcome.file}`)
    if (failed > 0) {
      throw new MorphoError('INTERNAL', `${failed} of ${outcome.runs.length} runs failed; summary in ${outcome.file}`, {
        hint: 'See each failure above; `morpho runs list` shows the runs that completed.',
      })
    }
    return outcome
  }

  private present(o: SweepOutcome): void {
    const keys = Object.keys(o.runs[0]?.params ?? {})
    this.log(
      table(
        ['RANK', ...keys.map((k) => k.toUpperCase()), o.metric.toUpperCase(), 'SEEDS', 'RUN'],
        o.runs.map((r, i) => [
          r.status === 'completed' ? String(i + 1) : '-',
          ...keys.map((k) => String(r.params[k])),
          r.status === 'completed' ? fmt(r.value) : 'failed',
          r.summary ? `${r.summary.seeds_germinated}/${r.summary.seeds_total}` : '-',
          r.runId ?? (r.error?.message.slice(0, 60) as string),
        ]),
      ),
    )
    if (o.best) this.log(`best: ${show(o.best.params)}  ${o.metric} ${fmt(o.best.value)}  run ${o.best.runId}`)
    if (o.registered) this.log(`registered ${o.registered.model} v${o.registered.version} (run ${o.registered.runId})`)
    this.log(`summary: ${o.file}`)
  }
}
