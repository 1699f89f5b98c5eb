import {Flags} from '@oclif/core'
import {MorphoCommand} from '../src/cli/base.js'
import {stageFlag, stageOf} from '../src/cli/flags.js'
import {BACKEND_CHOICES, resolveBackend, resolveToken} from '../src/config.js'
import {MorphoError} from '../src/errors.js'
import {DEFAULT_PROTECTED, parseProtect} from '../src/net/routes.js'
import {parseVersionRef} from '../src/registry/select.js'
import {PREDICTOR_CHOICES, type PredictorChoice, SERVE_DEFAULTS} from '../src/serve/options.js'
import type {ServeSummary} from '../src/serve/serve.js'

export default class Serve extends MorphoCommand {
  static override summary = 'Serve a registered model over HTTP: predictions, health, models and Prometheus metrics.'

  static override description =
    'Loads the Production version (or --stage / --version), verified against its checksums, and answers /predict, /health, /models, /metrics, /reload-model and the Open Inference Protocol v2 endpoints until SIGTERM or SIGINT; then it stops accepting, finishes the requests in flight and exits 0. With no version to serve yet it starts anyway and answers 503 until one is loaded (POST /reload-model, or --watch).'

  static override examples = [
    '<%= config.bin %> serve',
    '<%= config.bin %> serve --port 9000 --watch --log-requests',
    '<%= config.bin %> serve --host 0.0.0.0 --token "$(cat token)"   # protect /reload-model (the page is off)',
    '<%= config.bin %> serve --host 0.0.0.0 --token "$(cat token)" --ui --allowed-host morpho.internal',
    '<%= config.bin %> serve --model moons --version champion',
  ]

  static override flags = {
    port: Flags.integer({description: 'Port (0: any free port).', default: SERVE_DEFAULTS.port, min: 0, max: 65535}),
    host: Flags.string({description: 'Address to bind.', default: SERVE_DEFAULTS.host}),
    model: Flags.string({description: 'Registered model name [default: the only model].'}),
    stage: stageFlag('Serve the version in this stage', ['Production', 'Staging'], ['version']),
    version: Flags.string({description: 'Serve this version number or alias instead of a stage.'}),
    watch: Flags.boolean({
      description: 'Reload when the registry names another version for the stage or alias served.',
    }),
    'watch-interval': Flags.integer({
      description: 'Seconds between polls of the registry under --watch.',
      default: 2,
      min: 1,
    }),
    token: Flags.string({
      description:
        'Token the --protect endpoints require (Authorization: Bearer, or the password in a browser) [default: $MORPHO_TOKEN, else none].',
    }),
    protect: Flags.string({
      description: 'Endpoint families the token guards: management, page, metrics, predictions, or all.',
      default: DEFAULT_PROTECTED.join(','),
    }),
    'allowed-host': Flags.string({
      description:
        'A host name the page and /reload-model answer for (the Host header), besides IP addresses and localhost; repeatable.',
      multiple: true,
    }),
    'max-body-bytes': Flags.integer({
      description: 'Largest request body (413 beyond).',
      default: SERVE_DEFAULTS.maxBodyBytes,
      min: 1,
    }),
    'max-batch-rows': Flags.integer({
      description: 'Most rows in one request.',
      default: SERVE_DEFAULTS.maxBatchRows,
      min: 1,
    }),
    'log-requests': Flags.boolean({description: 'One JSON line per request on stderr.'}),
    backend: Flags.string({
      description: 'TF.js backend [default: $MORPHO_BACKEND, else auto].',
      options: [...BACKEND_CHOICES],
    }),
    predictor: Flags.string({
      description: 'Forward pass: auto picks JavaScript or TF.js by batch size, from timings taken at load.',
      options: [...PREDICTOR_CHOICES],
      default: 'auto',
    }),
    'micro-batching': Flags.boolean({
      description: 'Stack requests that arrive together into one forward pass.',
      default: true,
      allowNo: true,
    }),
    'shutdown-timeout': Flags.integer({
      description: 'Seconds to wait for requests in flight when stopping; requests cut off after it exit 1.',
      default: SERVE_DEFAULTS.shutdownTimeoutMs / 1000,
      min: 0,
    }),
    'request-timeout': Flags.integer({
      description: "Seconds a request's headers and body have to arrive (408 beyond).",
      default: SERVE_DEFAULTS.requestTimeoutMs / 1000,
      min: 1,
    }),
    'max-connections': Flags.integer({
      description: 'Connections open at once at most; more are closed as they arrive.',
      default: SERVE_DEFAULTS.maxConnections,
      min: 1,
    }),
    ui: Flags.boolean({
      description:
        'The web page (runs, registry, the served model) at / [default: on when --host is loopback, else off].',
      allowNo: true,
    }),
    debug: Flags.boolean({description: 'Also serve GET /debug/memory (RSS, heap, TF.js tensors and backend buffers).'}),
  }

  async run(): Promise<ServeSummary> {
    const {flags} = await this.parse(Serve)
    // Loaded here, not at the top: every command module is imported at start-up.
    const [{startServing}, {createLogger}] = await Promise.all([
      import('../src/serve/serve.js'),
      import('../src/serve/log.js'),
    ])
    const serving = await startServing({
      store: await this.store(flags),
      target: {
        model: flags.model,
        version: flags.version === undefined ? undefined : parseVersionRef(flags.version),
        stage: stageOf(flags.stage, ['Production', 'Staging']),
      },
      host: flags.host,
      port: flags.port,
      watch: flags.watch,
      watchIntervalMs: flags['watch-interval'] * 1000,
      token: resolveToken(flags.token),
      protect: parseProtect(flags.protect),
      allowedHosts: flags['allowed-host'],
      maxBodyBytes: flags['max-body-bytes'],
      maxBatchRows: flags['max-batch-rows'],
      backend: resolveBackend(flags.backend),
      predictor: flags.predictor as PredictorChoice,
      microBatching: flags['micro-batching'],
      shutdownTimeoutMs: flags['shutdown-timeout'] * 1000,
      requestTimeoutMs: flags['request-timeout'] * 1000,
      maxConnections: flags['max-connections'],
      ui: flags.ui,
      debug: flags.debug,
      morphoVersion: this.config.version,
      logger: createLogger({requests: flags['log-requests']}),
      handleSignals: true,
    })
    // The first line of stdout says where the server listens (useful with --port 0); the log goes to stderr.
    const current = serving.holder.current
    if (this.jsonEnabled()) {
      const listening = {
        url: serving.url,
        host: serving.host,
        port: serving.port,
        model: current?.name ?? serving.holder.modelName ?? null,
        version: current?.version ?? null,
        stage: current?.stage ?? null,
      }
      process.stdout.write(`${JSON.stringify(listening)}\n`)
    } else {
      this.log(serving.url)
    }
    const summary = await serving.stopped
    if (!summary.drained) {
      throw new MorphoError(
        'SHUTDOWN_TIMEOUT',
        `Stopped with ${summary.unfinished} request(s) cut off unfinished after --shutdown-timeout ${flags['shutdown-timeout']} s`,
        {
          hint: 'Give requests longer to finish (--shutdown-timeout), or look at what kept them (the request log).',
          details: {...summary},
        },
      )
    }
    return summary
  }
}
