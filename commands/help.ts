import {Args} from '@oclif/core'
import {MorphoCommand} from '../src/cli/base.js'
import {type HelpResult, helpData} from '../src/cli/help.js'
import {unknownCommand} from '../src/cli/not-found.js'

export default class Help extends MorphoCommand {
  static override summary = 'Show help for morpho, a topic or a command.'

  static override description =
    "The same text as --help (or -h) after a command. With --json: the command's summary, arguments and flags, or the list of commands."

  static override examples = [
    '<%= config.bin %> help',
    '<%= config.bin %> help train',
    '<%= config.bin %> help runs list --json',
  ]

  static override args = {command: Args.string({description: 'The command (its words, e.g. runs list).'})}

  static override strict = false

  async run(): Promise<HelpResult> {
    const {argv} = await this.parse(Help)
    const words = (argv as string[]).filter((w) => !w.startsWith('-'))
    const id = words.join(':')
    const command = id ? this.config.findCommand(id) : undefined
    if (id && !command && !this.config.findTopic(id)) throw unknownCommand(this.config, id)
    if (!this.jsonEnabled()) {
      const {loadHelpClass} = await import('@oclif/core')
      const HelpClass = await loadHelpClass(this.config)
      await new HelpClass(this.config, this.config.pjson.oclif.helpOptions).showHelp(words)
    }
    return helpData(this.config, command && (await command.load()), id)
  }
}
