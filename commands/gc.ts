import {Flags} from '@oclif/core'
import {MorphoCommand} from '../src/cli/base.js'
import type {GcResult} from '../src/store/gc.js'

export default class Gc extends MorphoCommand {
  static override summary = 'Remove the files of deleted versions.'

  static override description =
    'Removes version folders the registry no longer lists (versions deleted with morpho delete, copies a killed registration left behind), under the registry lock. For a database store: the cached copies on this machine of versions the database no longer has. An empty result is a success.'

  static override examples = ['<%= config.bin %> gc --dry-run', '<%= config.bin %> gc --json']

  static override flags = {
    'dry-run': Flags.boolean({description: 'Only list what would be removed.', default: false}),
  }

  async run(): Promise<GcResult> {
    const {collectGarbage} = await import('../src/store/gc.js')
    const {flags} = await this.parse(Gc)
    const dryRun = flags['dry-run']
    const {removed, bytes} = await collectGarbage(await this.store(flags), dryRun)
    for (const f of removed) this.log(`${dryRun ? 'would remove' : 'removed'} ${f.path}`)
    this.log(
      removed.length === 0
        ? 'nothing to remove'
        : `${dryRun ? 'would free' : 'freed'} ${bytes} bytes in ${removed.length} folder${removed.length === 1 ? '' : 's'}`,
    )
    return {removed, bytes, dryRun}
  }
}
