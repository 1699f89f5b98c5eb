import {Args, Flags} from '@oclif/core'
import {MorphoCommand} from '../../src/cli/base.js'
import type {DeleteRunsResult} from '../../src/tracking/delete-runs.js'

export default class RunsDelete extends MorphoCommand {
  static override summary = 'Delete runs: their record, metrics, events and saved model.'

  static override description =
    'Each RUN-ID is an id, the start of one, or latest; all are checked before any is deleted, so a refusal deletes nothing. A run still running is refused (exit 5). So is a run a registered version came from, unless --force: the version keeps its own files and still serves, but its runId then names a run that is gone.'

  static override strict = false

  static override examples = [
    '<%= config.bin %> runs delete spirals-20261129-141503-a3f9c1',
    '<%= config.bin %> runs delete latest --json',
    '<%= config.bin %> runs delete moons-2026 spirals-20261129 --force',
  ]

  static override args = {
    'run-id': Args.string({description: 'The runs to delete: ids, starts of ids, or latest.', required: true}),
  }

  static override flags = {
    force: Flags.boolean({description: 'Delete a run even though registered versions came from it.', default: false}),
  }

  async run(): Promise<DeleteRunsResult> {
    const {deleteRuns} = await import('../../src/tracking/delete-runs.js')
    const {argv, flags} = await this.parse(RunsDelete)
    const result = await deleteRuns(await this.store(flags), argv as string[], {force: flags.force})
    for (const run of result.deleted) {
      const versions = run.versions.map((v) => `${v.model} v${v.version}`).join(', ')
      this.log(`deleted run ${this.paint.bold(run.runId)}${versions ? ` (registered as ${versions}, which stay)` : ''}`)
    }
    return result
  }
}
