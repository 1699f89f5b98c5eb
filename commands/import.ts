import {Args, Flags} from '@oclif/core'
import {MorphoCommand} from '../src/cli/base.js'
import type {ImportResult} from '../src/export/import.js'

export default class Import extends MorphoCommand {
  static override summary =
    'Register the version a morpho archive holds (morpho export --format archive) in this store.'

  static override description =
    'The whole archive is verified before anything is written: every file against its sha256, the manifest against the registry entry, nothing else in it. A damaged, truncated, tampered or newer-format archive, or one with an entry name that is not a plain relative path, is refused with exit 7 and registers nothing. The version becomes the next version of its model (or of --model), in stage None, with byte-identical files; its history entry says which archive and which version it came from.'

  static override examples = [
    '<%= config.bin %> import spirals-v3.tgz',
    '<%= config.bin %> import spirals-v3.tgz --model spirals-prod --json',
  ]

  static override args = {
    file: Args.string({description: 'The .tgz written by morpho export --format archive.', required: true}),
  }

  static override flags = {
    model: Flags.string({description: 'Register under this model name [default: the name it was exported under].'}),
  }

  async run(): Promise<ImportResult> {
    const {args, flags} = await this.parse(Import)
    const {importArchive} = await import('../src/export/import.js')
    const result = await importArchive(await this.store(flags), {file: args.file, model: flags.model})
    const {source} = result
    this.log(
      `imported ${this.paint.bold(`${result.model} v${result.version}`)} from ${source.archive} (${source.model} v${source.version}, exported ${source.exportedAt} on ${source.exportedBy.host})`,
    )
    for (const f of result.files) this.log(`  ${f.path}  ${f.size} bytes  sha256 ${f.sha256}`)
    return result
  }
}
