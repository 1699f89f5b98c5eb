import {Flags} from '@oclif/core'
import {MorphoCommand} from '../src/cli/base.js'
import {stageFlag, stageOf} from '../src/cli/flags.js'
import {parseVersionRef} from '../src/registry/select.js'
import {type PredictView, predictView} from '../src/serve/predict-view.js'
import {metric, printable, table} from '../src/text.js'

export default class Predict extends MorphoCommand {
  static override summary =
    'Predict rows with a running server (--url), straight from the registry, or with an exported model (--model-file).'

  static override description =
    'Rows come from --data (JSON), --file (a JSON list of rows, or CSV lines of features) or stdin. Without --url the version is loaded from the store, checked against its checksums (exit 7 if it changed), and run in JavaScript: no server and no TF.js needed. Bad rows exit 6; an unknown model or version exits 4. --model-file runs an export of morpho export instead: a model.onnx through ONNX Runtime (onnxruntime-node, installed beside morpho), or a TF.js model.json through tf.loadLayersModel.'

  // The three ways to predict, one line each: oclif's own line for these exclusive flags is not well formed.
  static override usage = [
    'predict [--data <value> | --file <value>] [--model <value>] [--version <value> | --stage Production|Staging] [--json] [--store <value>] [--home <value>]',
    'predict --url <value> [--data <value> | --file <value>] [--version <value>] [--timeout <value>] [--json]',
    'predict --model-file <value> [--data <value> | --file <value>] [--json]',
  ]

  static override examples = [
    `<%= config.bin %> predict --data '[[0.5, -1.2, 0.3]]'`,
    '<%= config.bin %> predict --file rows.csv --version 3 --json',
    `echo '[[1, 2, 0]]' | <%= config.bin %> predict --url http://127.0.0.1:8080`,
    '<%= config.bin %> predict --model-file spirals.onnx --file rows.csv',
  ]

  static override flags = {
    url: Flags.string({description: 'A morpho server to ask, e.g. http://127.0.0.1:8080 [default: predict locally].'}),
    data: Flags.string({description: 'Rows as JSON: [[x1, x2, ...], ...].'}),
    file: Flags.string({description: 'A file of rows: JSON, or CSV with one row of features per line.'}),
    model: Flags.string({
      description: 'Registered model name (local only) [default: the only model].',
      exclusive: ['url'],
    }),
    version: Flags.string({description: 'Version number or alias [default: the Production version].'}),
    stage: stageFlag('Use the version in this stage (local only)', ['Production', 'Staging'], ['version', 'url']),
    'model-file': Flags.string({
      description: 'An exported model to run: a .onnx file, or a TF.js model.json (or its folder).',
      exclusive: ['url', 'model', 'version', 'stage'],
    }),
    timeout: Flags.integer({description: 'Seconds to wait for the server.', default: 30, min: 1}),
  }

  async run(): Promise<PredictView> {
    const {flags} = await this.parse(Predict)
    // Only the path that runs is loaded: the registry and model for a local prediction, the
    // HTTP client for --url.
    const {readRowsInput, predictLocal} = await import('../src/serve/predict.js')
    const predictRemote = async (...args: Parameters<typeof import('../src/serve/client.js').predictRemote>) =>
      (await import('../src/serve/client.js')).predictRemote(...args)
    const rows = await readRowsInput({data: flags.data, file: flags.file})
    const result =
      flags['model-file'] !== undefined
        ? await (await import('../src/export/model-file.js')).predictFromFile(flags['model-file'], rows)
        : flags.url === undefined
          ? await predictLocal(
              await this.store(flags),
              {
                model: flags.model,
                version: flags.version === undefined ? undefined : parseVersionRef(flags.version),
                stage: stageOf(flags.stage, ['Production', 'Staging']),
              },
              rows,
            )
          : await predictRemote(flags.url, rows, {modelVersion: flags.version, timeoutMs: flags.timeout * 1000})
    const view = predictView(result, flags.url ?? null)
    // One column per class, named by its label (0, 1, … in order when the answer does not list them).
    const classes = view.classes ?? (view.probabilities[0] ?? []).map((_, k) => k)
    this.log(
      table(
        ['ROW', 'PREDICTION', ...classes.map((c) => `P(${printable(String(c))})`)],
        view.predictions.map((p, i) => [
          String(i),
          printable(String(p)),
          ...view.probabilities[i]!.map((q) => metric(q)),
        ]),
      ),
    )
    const model = view.model
      ? `${view.model} v${view.version}`
      : view.version === null
        ? 'the model'
        : `v${view.version}`
    const from =
      view.source === 'server'
        ? `from ${flags.url}`
        : view.modelFile
          ? `from ${view.modelFile.path} (${view.modelFile.runtime})`
          : 'from the registry, no server'
    // Under --json the answer says where it came from; stderr stays empty for scripts.
    if (!this.jsonEnabled()) this.note(`${model} ${from}; forward pass ${view.inferenceTimeMs} ms`)
    return view
  }
}
