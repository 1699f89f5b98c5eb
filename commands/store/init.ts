import {MorphoCommand} from '../../src/cli/base.js'

export default class StoreInit extends MorphoCommand {
  static override summary =
    'Create the store (a folder, or the schema of a PostgreSQL database), or migrate it forward.'

  static override description =
    'Every command does this on first use; run it to check a store before a team points CI at it. A database whose schema is newer than this morpho is refused (exit 7) and left untouched.'

  static override examples = [
    '<%= config.bin %> store init --store postgres://morpho@db.internal:5432/morpho',
    'MORPHO_STORE=postgres://morpho@localhost/morpho <%= config.bin %> store init --json',
  ]

  async run(): Promise<{store: string; kind: string; schemaVersion: number; created: boolean}> {
    const {flags} = await this.parse(StoreInit)
    const store = await this.store(flags)
    const result = {store: store.location, kind: store.kind, ...(await store.init())}
    this.log(
      `${result.created ? 'created' : 'ready'}: ${result.kind} store ${result.store} (schema version ${result.schemaVersion})`,
    )
    return result
  }
}
