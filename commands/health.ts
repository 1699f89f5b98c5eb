import {Flags} from '@oclif/core'
import {MorphoCommand} from '../src/cli/base.js'
import type {HealthResult} from '../src/serve/client.js'
import {DEFAULT_URL} from '../src/serve/options.js'

export default class Health extends MorphoCommand {
  static override summary = 'Ask a morpho server whether it is up with a model loaded (exit 0), or not (exit 1).'

  static override description =
    "The image's HEALTHCHECK: it needs no curl. A server that answers but has no model loaded is unhealthy."

  static override examples = ['<%= config.bin %> health', '<%= config.bin %> health --url http://10.0.0.5:8080 --json']

  static override flags = {
    url: Flags.string({description: 'The server.', default: DEFAULT_URL}),
    timeout: Flags.integer({description: 'Seconds to wait for the answer.', default: 5, min: 1}),
  }

  async run(): Promise<HealthResult> {
    const {flags} = await this.parse(Health)
    const {checkHealth} = await import('../src/serve/client.js')
    const result = await checkHealth(flags.url, {timeoutMs: flags.timeout * 1000})
    const b = result.body
    if (result.healthy && b) {
      this.log(
        `healthy: ${b.model_name} v${b.model_version}${b.model_stage ? ` (${b.model_stage})` : ''} at ${result.url}`,
      )
    } else {
      this.log(`unhealthy: ${result.problem} (${result.url})`)
      // The result is still printed (and under --json, as JSON); only the exit code says "no".
      process.exitCode = 1
    }
    return result
  }
}
