import {readdir} from 'node:fs/promises'
import {resolveStore} from '../config.js'
import type {RegistryModels} from '../registry/schema.js'
import {FolderStore} from '../store/folder/folder-store.js'
import {isSafeId} from '../store/paths.js'
import type {Store} from '../store/store.js'

/**
 * Shell completion: given the words typed after `morpho` (the last one is the word being
 * completed, possibly empty), the words that may come next — commands, flags, and the values
 * of flags and arguments, some read from the store (models, versions, aliases, run ids).
 * The shell scripts (`morpho autocomplete bash|zsh`) call it through `morpho __complete`.
 */

export interface CompletableFlag {
  type: 'boolean' | 'option'
  char?: string
  aliases?: string[]
  options?: readonly string[]
  /** The value's name in the usage line; "A|B|C" lists its choices (a flag that parses them itself). */
  helpValue?: string | string[]
  allowNo?: boolean
  multiple?: boolean
  hidden?: boolean
}

export interface CompletableCommand {
  id: string
  hidden?: boolean
  flags: Record<string, CompletableFlag>
  /** In order. */
  args: Record<string, {options?: readonly string[]}>
}

/** Where the values of a flag or an argument come from, by its name. */
type Source =
  | 'models'
  | 'versions'
  | 'aliases'
  | 'runs'
  | 'stages'
  | 'targetStages'
  | 'metrics'
  | 'shells'
  | 'commands'
  | 'files'

const BY_NAME: Record<string, Source> = {
  model: 'models',
  version: 'versions',
  'run-id': 'runs',
  stage: 'stages',
  metric: 'metrics',
  shell: 'shells',
  home: 'files',
  data: 'files',
  file: 'files',
  config: 'files',
  'sweep-config': 'files',
}
/** Arguments whose name alone does not say it. */
const BY_COMMAND_ARG: Record<string, Source> = {
  'alias:set name': 'aliases',
  'alias:delete name': 'aliases',
  'help command': 'commands',
  'promote stage': 'targetStages',
}

const SHELLS = ['bash', 'zsh']

/** What the store can tell completion; each is asked only when its values are wanted. */
export interface StoreValues {
  models(): Promise<string[]>
  versions(model: string | undefined): Promise<string[]>
  aliases(model: string | undefined): Promise<string[]>
  runs(): Promise<string[]>
  stages(): string[]
  metrics(model: string | undefined): Promise<string[]>
  close(): Promise<void>
}

/**
 * The candidates for the last word. An empty answer lets the shell complete file names; a word
 * of the form `--flag=val` is answered with values for the part after "=" (what the shells
 * complete there).
 */
export async function complete(
  commands: readonly CompletableCommand[],
  words: readonly string[],
  store: (flags: {store?: string; home?: string}) => StoreValues,
): Promise<string[]> {
  const typed = words.length === 0 ? [''] : [...words]
  const current = typed.pop()!
  const visible = commands.filter((c) => !c.hidden)
  const ids = new Set(visible.map((c) => c.id))

  // The command: as many leading words as name a topic or a command.
  let path: string[] = []
  let at = 0
  let command: CompletableCommand | undefined
  for (; at < typed.length; at++) {
    const word = typed[at]!
    if (word.startsWith('-')) break
    const id = [...path, word].join(':')
    if (ids.has(id)) {
      command = visible.find((c) => c.id === id)
      at++
      break
    }
    if (!visible.some((c) => c.id.startsWith(`${id}:`))) break
    path = [...path, word]
  }
  if (!command) return at === typed.length ? startingWith(nextWords(visible, path), current) : []

  // Flags given so far, and how many arguments.
  const byName = new Map<string, [string, CompletableFlag]>()
  for (const [name, flag] of Object.entries(command.flags)) {
    if (flag.hidden) continue
    for (const n of [name, ...(flag.aliases ?? [])]) byName.set(`--${n}`, [name, flag])
    if (flag.char) byName.set(`-${flag.char}`, [name, flag])
  }
  const given = new Map<string, string>()
  let positional = 0
  let pending: [string, CompletableFlag] | undefined
  for (const word of typed.slice(at)) {
    if (pending) {
      given.set(pending[0], word)
      pending = undefined
      continue
    }
    if (word.startsWith('-') && word !== '-') {
      const [key, value] = splitOnce(word)
      const found = byName.get(key)
      if (found?.[1].type === 'option') {
        if (value === undefined) pending = found
        else given.set(found[0], value)
      } else if (found) {
        given.set(found[0], 'true')
      }
      continue
    }
    positional++
  }
  let opened: StoreValues | undefined
  const openedStore = () => {
    opened ??= store({store: given.get('store'), home: given.get('home')})
    return opened
  }
  const values = (source: Source | undefined, options?: readonly string[]) =>
    options && options.length > 0
      ? Promise.resolve([...options])
      : valuesOf(source, openedStore(), given.get('model'), visible)

  if (pending) return startingWith(await values(BY_NAME[pending[0]], choices(pending[1])), current)
  if (current.startsWith('-')) {
    const [key, value] = splitOnce(current)
    const found = byName.get(key)
    if (value !== undefined) {
      return found?.[1].type === 'option' ? startingWith(await values(BY_NAME[found[0]], found[1].options), value) : []
    }
    const names = Object.entries(command.flags)
      .filter(([name, flag]) => !flag.hidden && (flag.multiple || !given.has(name)))
      .flatMap(([name, flag]) => [`--${name}`, ...(flag.allowNo ? [`--no-${name}`] : [])])
    return startingWith([...names, '--help'].sort(), current)
  }
  const argNames = Object.keys(command.args)
  const arg = argNames[positional]
  if (arg === undefined) return command.id === 'help' ? startingWith(nextWords(visible, typed.slice(at)), current) : []
  const source = BY_COMMAND_ARG[`${command.id} ${arg}`] ?? BY_NAME[arg]
  return startingWith(await values(source, command.args[arg]!.options), current)
}

function choices(flag: CompletableFlag): readonly string[] | undefined {
  if (flag.options) return flag.options
  const help = Array.isArray(flag.helpValue) ? flag.helpValue.join('|') : flag.helpValue
  return help?.includes('|') ? help.split('|') : undefined
}

/** The words that can follow a topic path: its commands' and sub-topics' next segment. */
function nextWords(commands: readonly CompletableCommand[], path: readonly string[]): string[] {
  const prefix = path.length === 0 ? '' : `${path.join(':')}:`
  const out = new Set<string>()
  for (const c of commands) if (c.id.startsWith(prefix)) out.add(c.id.slice(prefix.length).split(':')[0]!)
  return [...out].sort()
}

async function valuesOf(
  source: Source | undefined,
  store: StoreValues,
  model: string | undefined,
  commands: readonly CompletableCommand[],
): Promise<string[]> {
  switch (source) {
    case 'models':
      return store.models()
    case 'versions':
      return store.versions(model)
    case 'aliases':
      return store.aliases(model)
    case 'runs':
      return store.runs()
    case 'stages':
      return store.stages()
    case 'targetStages':
      return store.stages().filter((s) => s !== 'None')
    case 'metrics':
      return store.metrics(model)
    case 'shells':
      return SHELLS
    case 'commands':
      return nextWords(commands, [])
    default:
      return []
  }
}

function startingWith(candidates: readonly string[], prefix: string): string[] {
  return [...new Set(candidates.filter((c) => c.startsWith(prefix)))]
}

function splitOnce(word: string): [string, string | undefined] {
  const eq = word.indexOf('=')
  return eq < 0 ? [word, undefined] : [word.slice(0, eq), word.slice(eq + 1)]
}

/**
 * How long a Tab waits for the store, from the moment it is first asked, before offering
 * nothing: a database that cannot be reached (down, or behind a link that drops packets)
 * must not hang the shell. A connection attempt gives up at the same time.
 */
export const COMPLETION_WAIT_MS = 1500

/**
 * Values from the store the words name (--store or --home), else MORPHO_STORE / MORPHO_HOME,
 * else ./.morpho. Completion never fails: a store that cannot be opened, read or reached
 * within `waitMs` offers nothing.
 */
export function storeValues(flags: {store?: string; home?: string}, waitMs = COMPLETION_WAIT_MS): StoreValues {
  let opened: Promise<Store | undefined> | undefined
  let deadline: Promise<undefined> | undefined
  let timer: NodeJS.Timeout | undefined
  /** `work`'s answer, or undefined once the wait is over or when it fails. */
  const inTime = <T>(work: () => Promise<T>): Promise<T | undefined> => {
    deadline ??= new Promise((resolve) => {
      timer = setTimeout(resolve, waitMs, undefined)
    })
    return Promise.race([work().catch(() => undefined), deadline])
  }
  const store = () => {
    opened ??= inTime(async () => {
      const locator = resolveStore(flags)
      if (locator.kind === 'folder') return new FolderStore(locator.home)
      const {PostgresStore} = await import('../store/postgres/postgres-store.js')
      return new PostgresStore(locator.url, {max: 1, timeoutMs: waitMs})
    })
    return opened
  }
  let document: Promise<RegistryModels | undefined> | undefined
  const registry = () => {
    document ??= inTime(async () => {
      const s = await store()
      if (!s) return undefined
      const {readModels} = await import('../registry/queries.js')
      return readModels(s)
    })
    return document
  }
  const modelOf = async (name: string | undefined) => {
    const doc = await registry()
    if (!doc) return undefined
    const names = Object.keys(doc.models)
    return name !== undefined ? doc.models[name] : names.length === 1 ? doc.models[names[0]!] : undefined
  }
  return {
    async models() {
      return Object.keys((await registry())?.models ?? {}).sort()
    },
    async versions(name) {
      const model = await modelOf(name)
      if (!model) return []
      return [
        ...model.versions.map((v) => String(v.version)).reverse(),
        ...Object.keys(model.aliases).sort(),
        'latest',
        'production',
        'staging',
      ]
    },
    async aliases(name) {
      return Object.keys((await modelOf(name))?.aliases ?? {}).sort()
    },
    async runs() {
      const ids = await inTime(async () => {
        const s = await store()
        if (!s) return []
        // A folder's run ids are its folder names: no need to read every record.
        if (s instanceof FolderStore) {
          const names = await readdir(s.paths.runsDir).catch(() => [] as string[])
          return names.filter(isSafeId).sort().reverse()
        }
        return (await s.runs.list()).runs.map((r) => r.id)
      })
      return ids ?? []
    },
    stages() {
      return ['None', 'Staging', 'Production', 'Archived']
    },
    async metrics(name) {
      const model = await modelOf(name)
      return [...new Set(model?.versions.flatMap((v) => Object.keys(v.metrics)) ?? [])].sort()
    },
    async close() {
      clearTimeout(timer)
      // A connection still being attempted ends at its own time limit, the same wait.
      await (await opened)?.close().catch(() => undefined)
    },
  }
}
