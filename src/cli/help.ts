import type {Command, Interfaces} from '@oclif/core'
import {typedId} from './not-found.js'

/** What `morpho help --json` answers: one command's interface, or the commands (of a topic). */
export type HelpResult = CommandHelpData | {commands: {command: string; summary: string | null}[]}

export interface CommandHelpData {
  command: string
  summary: string | null
  description: string | null
  examples: string[]
  args: {name: string; description: string | null; required: boolean}[]
  flags: {
    name: string
    char: string | null
    aliases: string[]
    description: string | null
    type: 'boolean' | 'option'
    options: string[] | null
    default: unknown
    multiple: boolean
    required: boolean
  }[]
}

/** `command` is the loaded class when there is one: the manifest leaves out boolean defaults. */
export function helpData(
  config: Interfaces.Config,
  command: Command.Loadable | Command.Class | undefined,
  topic: string,
): HelpResult {
  if (!command) {
    const prefix = topic ? `${topic}:` : ''
    return {
      commands: config.commands
        .filter((c) => !c.hidden && c.id.startsWith(prefix))
        .map((c) => ({command: typedId(config, c.id), summary: c.summary ?? null}))
        .sort((a, b) => a.command.localeCompare(b.command)),
    }
  }
  const bin = (text: string) => text.replace(/<%= config\.bin %>/g, config.bin)
  return {
    command: typedId(config, command.id!),
    summary: command.summary ?? null,
    description: command.description ?? null,
    examples: (command.examples ?? []).map((e) => bin(typeof e === 'string' ? e : e.command)),
    args: Object.entries(command.args ?? {}).map(([name, a]) => ({
      name,
      description: a.description ?? null,
      required: Boolean(a.required),
    })),
    flags: Object.entries(command.flags ?? {})
      .filter(([, f]) => !f.hidden)
      .map(([name, f]) => ({
        name,
        char: (f.char as string | undefined) ?? null,
        aliases: f.aliases ?? [],
        description: f.summary ?? f.description ?? null,
        type: f.type,
        options: f.type === 'option' && f.options ? [...f.options] : null,
        default: f.default ?? null,
        multiple: f.type === 'option' ? Boolean(f.multiple) : false,
        required: Boolean(f.required),
      }))
      .sort((a, b) => a.name.localeCompare(b.name)),
  }
}
