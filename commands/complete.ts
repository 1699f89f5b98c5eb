import {MorphoCommand} from '../src/cli/base.js'
import {type CompletableCommand, complete, type StoreValues, storeValues} from '../src/cli/complete.js'

/** What the completion scripts call on each Tab: `morpho __complete -- <words after morpho>`. */
export default class Complete extends MorphoCommand {
  static override hidden = true

  static override summary = 'The words that may follow, one per line (for the shell completion scripts).'

  static override strict = false

  async run(): Promise<{candidates: string[]}> {
    const {argv} = await this.parse(Complete)
    const opened: StoreValues[] = []
    const candidates = await complete(
      this.config.commands as unknown as CompletableCommand[],
      argv as string[],
      (flags) => {
        const values = storeValues(flags)
        opened.push(values)
        return values
      },
    ).catch(() => [])
    for (const values of opened) await values.close().catch(() => undefined)
    if (candidates.length > 0) this.log(candidates.join('\n'))
    return {candidates}
  }
}
