import {Errors, type Hook, type Interfaces} from '@oclif/core'
import {MorphoError, toEnvelope} from '../errors.js'
import {nearest} from '../suggest.js'

/** A command id as users type it: `runs list`, not `runs:list`. */
export function typedId(config: Interfaces.Config, id: string): string {
  return id.split(':').join(config.topicSeparator)
}

/**
 * "… is not a morpho command", naming the nearest command (usage, exit 2). oclif joins every
 * word before the first flag into the id (`promot Production` → "promot:Production"), so the
 * longest leading words that are near a command are taken as what was meant.
 */
export function unknownCommand(config: Interfaces.Config, id: string): MorphoError {
  const known = config.commands.filter((c) => !c.hidden).map((c) => typedId(config, c.id))
  const words = id.split(':')
  let typed = words.slice(0, config.findTopic(words[0]!) ? 2 : 1).join(' ')
  let near: string | undefined
  for (let n = words.length; n >= 1 && !near; n--) {
    near = nearest(words.slice(0, n).join(' '), known)
    if (near) typed = words.slice(0, n).join(' ')
  }
  return new MorphoError('USAGE', `"${typed}" is not a ${config.bin} command`, {
    hint: near ? `Did you mean ${config.bin} ${near}?` : `See ${config.bin} help for the commands.`,
    details: {command: typed, suggestion: near ?? null},
  })
}

/**
 * oclif's command_not_found hook: a mistyped command is a usage error, and under --json it is
 * the error envelope on stdout like any other error. It does not use oclif's hook context
 * (`this`), so a bundle can call it directly (src/build/launch.cjs).
 */
const hook: Hook<'command_not_found'> = async ({argv, config, id}) => {
  const err = unknownCommand(config, id)
  if (argv?.includes('--json')) {
    process.stdout.write(`${JSON.stringify(toEnvelope(err), null, 2)}\n`)
    Errors.exit(err.exitCode)
  }
  throw new Errors.CLIError(err.message, {exit: err.exitCode, suggestions: [err.hint!]})
}

export default hook
