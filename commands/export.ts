import {Args, Flags} from '@oclif/core'
import {MorphoCommand} from '../src/cli/base.js'
import {interruptible} from '../src/cli/interrupt.js'
import {BACKEND_CHOICES, resolveBackend} from '../src/config.js'
import type {ExportResult} from '../src/export/export.js'

const FORMATS = ['onnx', 'tfjs', 'triton', 'archive']

export default class Export extends MorphoCommand {
  static override summary =
    'Write a registered version (or a run’s model) for other runtimes: ONNX, TF.js, a Triton repository, or a morpho archive.'

  static override description =
    `MODEL is a registered model, optionally with @VERSION, @ALIAS or @STAGE (default: its Production version), or a run: its id, the start of one, or latest (its own saved model). The version's files are verified first (exit 7 if they changed). Everything is written beside --out and renamed into place at the end: --out is complete or absent, never half-written. An --out that exists is refused (exit 5) unless --force.

onnx: one model.onnx (opset 21) taking raw float32 rows [N, features] (the scaler is in the graph) and giving "probabilities" [N, classes] and "predictions" [N] (the class labels). tfjs: a TF.js LayersModel folder (model.json + weights.bin) for tf.loadLayersModel. triton: a Triton model repository, --out/NAME/config.pbtxt, --out/NAME/labels.txt (the class labels) and --out/NAME/VERSION/model.onnx. archive: one .tgz of the version that morpho import registers into another store.`

  static override examples = [
    '<%= config.bin %> export spirals@3 --format onnx --out spirals.onnx',
    '<%= config.bin %> export spirals@champion --format tfjs --out web/model',
    '<%= config.bin %> export spirals@Production --format triton --out model_repository',
    '<%= config.bin %> export spirals@3 --format archive --out spirals-v3.tgz --json',
  ]

  static override args = {
    model: Args.string({
      description: 'MODEL[@VERSION|@ALIAS|@STAGE], or a run id (its start, or latest).',
      required: true,
    }),
  }

  static override flags = {
    format: Flags.string({description: 'What to write.', options: FORMATS, required: true}),
    out: Flags.string({description: 'Where: a file (onnx, archive) or a folder (tfjs, triton).', required: true}),
    force: Flags.boolean({description: 'Replace --out if it exists.', default: false}),
    backend: Flags.string({
      description: 'TF.js backend for --format tfjs [default: $MORPHO_BACKEND, else auto].',
      options: [...BACKEND_CHOICES],
    }),
  }

  async run(): Promise<ExportResult> {
    const {args, flags} = await this.parse(Export)
    const {exportModel} = await import('../src/export/export.js')
    const store = await this.store(flags)
    const result = await interruptible((signal) =>
      exportModel(store, {
        ref: args.model,
        format: flags.format as ExportResult['format'],
        out: flags.out,
        force: flags.force,
        morphoVersion: this.config.version,
        backend: resolveBackend(flags.backend),
        signal,
      }),
    )
    const what = result.version === null ? `run ${result.runId}` : `${result.model} v${result.version}`
    const seeds = result.liveSeeds.map((s) => (s.alpha === 1 ? s.id : `${s.id} (α ${s.alpha})`))
    this.log(`exported ${this.paint.bold(what)} as ${result.format} to ${result.out}`)
    this.log(`  live seeds: ${seeds.length > 0 ? seeds.join(', ') : 'none'}`)
    for (const f of result.files) this.log(`  ${f.path}  ${f.size} bytes  sha256 ${f.sha256}`)
    return result
  }
}
