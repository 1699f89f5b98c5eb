import {Flags} from '@oclif/core'
import {MorphoCommand} from '../src/cli/base.js'
import {parseDuration} from '../src/config.js'
import {MorphoError} from '../src/errors.js'
import {isStage, type Stage} from '../src/registry/schema.js'
import {DEFAULT_URL} from '../src/serve/options.js'

/** `morpho health --json` when the server is up with a model loaded. */
export interface HealthView {
  url: string
  status: string
  model: string
  version: number
  stage: Stage | null
}

export default class Health extends MorphoCommand {
  static override summary = 'Ask a morpho server whether it is up with a model loaded (exit 0), or not (exit 1).'

  static override description =
    "The image's HEALTHCHECK: it needs no curl. A server that answers but has no model loaded is unhealthy. With --wait it asks again until the server is healthy or the time is up, for a CI job that has just started one."

  static override examples = [
    '<%= config.bin %> health',
    '<%= config.bin %> health --url http://10.0.0.5:8080 --json',
    '<%= config.bin %> health --wait 30s   # until a server just started has its model',
  ]

  static override flags = {
    url: Flags.string({description: 'The server.', default: DEFAULT_URL}),
    timeout: Flags.integer({description: 'Seconds to wait for each answer.', default: 5, min: 1}),
    wait: Flags.string({description: 'Keep asking until healthy for this long: 30s, 500ms, 2m [default: ask once].'}),
  }

  async run(): Promise<HealthView> {
    const {flags} = await this.parse(Health)
    const waitMs = flags.wait === undefined ? undefined : parseDuration(flags.wait, '--wait')
    const {checkHealth, waitForHealth} = await import('../src/serve/client.js')
    const timeoutMs = flags.timeout * 1000
    const result =
      waitMs === undefined
        ? await checkHealth(flags.url, {timeoutMs})
        : await waitForHealth(flags.url, {waitMs, timeoutMs})
    const b = result.body
    if (!result.healthy || !b?.model_name || b.model_version === null) {
      // Exit 1 as a health check expects; under --json, the error envelope like every failure.
      const waited = waitMs === undefined ? '' : `, after waiting ${flags.wait}`
      throw new MorphoError('UNHEALTHY', `unhealthy: ${result.problem ?? 'no model loaded'} (${result.url}${waited})`, {
        hint:
          result.status === null
            ? 'Is morpho serve running there? Check --url.'
            : 'Load a model: promote one, then POST /reload-model, or serve with --watch.',
        details: {url: result.url, status: result.status, body: b},
      })
    }
    const view: HealthView = {
      url: result.url,
      status: b.status,
      model: b.model_name,
      version: Number(b.model_version),
      stage: isStage(b.model_stage) ? b.model_stage : null,
    }
    this.log(`healthy: ${view.model} v${view.version}${view.stage ? ` (${view.stage})` : ''} at ${view.url}`)
    return view
  }
}
