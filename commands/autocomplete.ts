import {Args} from '@oclif/core'
import {MorphoCommand} from '../src/cli/base.js'
import {completionScript, SHELLS, type Shell} from '../src/cli/completion-scripts.js'
import {usageError} from '../src/errors.js'

export default class Autocomplete extends MorphoCommand {
  static override summary = 'Print the shell completion script for bash or zsh.'

  static override description =
    'Completes commands, flags, flag values (--problem, --stage, --backend …) and, from the store, model names, versions, aliases and run ids. Load it from your shell\'s start-up file:\n\n  bash (~/.bashrc):  eval "$(morpho autocomplete bash)"\n  zsh (~/.zshrc, after compinit):  eval "$(morpho autocomplete zsh)"'

  static override examples = [
    '<%= config.bin %> autocomplete bash >> ~/.bash_completion',
    'eval "$(<%= config.bin %> autocomplete zsh)"',
  ]

  static override args = {
    shell: Args.string({description: 'bash or zsh [default: the one $SHELL names].', options: [...SHELLS]}),
  }

  async run(): Promise<{shell: Shell; script: string}> {
    const {args} = await this.parse(Autocomplete)
    const fromEnv = (process.env.SHELL ?? '').split('/').pop() ?? ''
    const shell = (args.shell ?? fromEnv) as Shell
    if (!SHELLS.includes(shell)) {
      throw usageError(`No completion for the shell "${shell || 'unknown'}"`, {
        hint: `Say which: ${this.config.bin} autocomplete ${SHELLS.join('|')}.`,
      })
    }
    const script = completionScript(shell, this.config.bin)
    this.log(script.trimEnd())
    return {shell, script}
  }
}
