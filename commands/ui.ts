import {Flags} from '@oclif/core'
import {MorphoCommand} from '../src/cli/base.js'
import {resolveToken} from '../src/config.js'

export interface UiResult {
  url: string
  store: string
  /** The signal that stopped it. */
  stoppedBy: string
}

export default class Ui extends MorphoCommand {
  static override summary = 'Browse runs and the registry in a web page served from the store (no model loaded).'

  static override description =
    'Serves the same page as `morpho serve` at / (runs with their curves and seed timelines, run comparison, the registry and its history) and its JSON API under /api/. Everything ships with morpho: no internet needed. Stop it with Ctrl-C.'

  static override examples = [
    '<%= config.bin %> ui',
    '<%= config.bin %> ui --port 0 --open',
    '<%= config.bin %> ui --host 0.0.0.0 --port 8090   # reachable from other machines',
  ]

  static override flags = {
    port: Flags.integer({
      description: 'Port (0: any free port) [default: $MORPHO_UI_PORT, else 8090].',
      min: 0,
      max: 65535,
    }),
    host: Flags.string({description: 'Address to listen on [default: $MORPHO_UI_HOST, else 127.0.0.1].'}),
    open: Flags.boolean({description: 'Open the page in the default browser.'}),
    token: Flags.string({
      description:
        'A token every request needs (Authorization: Bearer, or the password in a browser) [default: $MORPHO_TOKEN, else none].',
    }),
    'allowed-host': Flags.string({
      description:
        'A host name the page answers for (the Host header), besides IP addresses and localhost; repeatable.',
      multiple: true,
    }),
  }

  async run(): Promise<UiResult> {
    const [{openInBrowser, resolveUiAddress, startUiServer}, {isLoopback}] = await Promise.all([
      import('../src/ui/server.js'),
      import('../src/net/guard.js'),
    ])
    const {flags} = await this.parse(Ui)
    const store = await this.store(flags)
    const address = resolveUiAddress(flags)
    const token = resolveToken(flags.token)
    const server = await startUiServer(
      {store, version: this.config.version},
      {...address, token, allowedHosts: flags['allowed-host']},
    )
    // The URL goes to stderr, like progress: stdout stays for the result (--json prints it at exit).
    this.note(`morpho ui: ${server.url} (store ${store.location}); Ctrl-C stops it`)
    if (!isLoopback(address.host) && token === undefined) {
      this.note(
        `warning: listening on ${address.host} without a token: anyone who can reach ${server.url} can read the store; give --token (or MORPHO_TOKEN)`,
      )
    }
    if (flags.open) openInBrowser(server.url)
    const signal = await new Promise<string>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'))
      process.once('SIGTERM', () => resolve('SIGTERM'))
    })
    await server.close()
    return {url: server.url, store: store.location, stoppedBy: signal}
  }
}
