import {Flags} from '@oclif/core'
import {MorphoCommand} from '../src/cli/base.js'

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
  }

  async run(): Promise<UiResult> {
    const {openInBrowser, resolveUiAddress, startUiServer} = await import('../src/ui/server.js')
    const {flags} = await this.parse(Ui)
    const store = await this.store(flags)
    const server = await startUiServer({store, version: this.config.version}, resolveUiAddress(flags))
    // The URL goes to stderr, like progress: stdout stays for the result (--json prints it at exit).
    this.note(`morpho ui: ${server.url} (store ${store.location}); Ctrl-C stops it`)
    if (flags.open) openInBrowser(server.url)
    const signal = await new Promise<string>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'))
      process.once('SIGTERM', () => resolve('SIGTERM'))
    })
    await server.close()
    return {url: server.url, store: store.location, stoppedBy: signal}
  }
}
