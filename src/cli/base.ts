import {Command, Errors, Flags} from '@oclif/core'
import type {ChalkInstance} from 'chalk'
import {resolveStore} from '../config.js'
import {fromSystemError, isMorphoError, toEnvelope, usageError} from '../errors.js'
import type {Store} from '../store/store.js'
import {nearest} from '../suggest.js'
import {paintFor} from './color.js'

/**
 * The one base every morpho command extends. It owns the translation of domain errors into
 * exit codes and the JSON error envelope (oclif's own handler would exit 1 under --json).
 */
export abstract class MorphoCommand extends Command {
  static override enableJsonFlag = true

  static override baseFlags = {
    store: Flags.string({
      description: 'Store: a folder or a postgres:// URL [default: $MORPHO_STORE, else --home].',
      helpGroup: 'GLOBAL',
    }),
    home: Flags.string({
      description: 'Store folder [default: $MORPHO_HOME, else ./.morpho].',
      helpGroup: 'GLOBAL',
    }),
  }

  /** Colours for stdout; plain when piped, with NO_COLOR, or under --json. */
  protected get paint(): ChalkInstance {
    return paintFor(this.jsonEnabled() ? {isTTY: false} : process.stdout)
  }

  /** Colours for stderr (progress, warnings). */
  protected get paintErr(): ChalkInstance {
    return paintFor(process.stderr)
  }

  private readonly opened: Store[] = []

  /** The store the flags and environment name (see resolveStore), closed when the command ends. */
  protected async store(flags: {store?: string; home?: string}): Promise<Store> {
    const {openStore} = await import('../store/open.js')
    const store = await openStore(resolveStore(flags))
    this.opened.push(store)
    return store
  }

  override async finally(err: Error | undefined): Promise<unknown> {
    for (const store of this.opened.splice(0)) await store.close().catch(() => undefined)
    return super.finally(err)
  }

  /** A line on stderr: progress and notices never pollute stdout (and so never --json). */
  protected note(line: string): void {
    process.stderr.write(`${line}\n`)
  }

  /**
   * Plain JSON, the same text oclif prints, without its per-token colouring pass: that pass
   * takes about a second on the megabytes a large registry listing produces.
   */
  override logJson(json: unknown): void {
    process.stdout.write(`${JSON.stringify(json, null, 2)}\n`)
  }

  protected override toErrorJson(err: unknown): unknown {
    return toEnvelope(err)
  }

  protected override async catch(thrown: Errors.CLIError | Error): Promise<unknown> {
    const err = fromSystemError(thrown) ?? this.withSuggestion(thrown)
    const envelope = toEnvelope(err)
    process.exitCode = envelope.error.exitCode
    if (this.jsonEnabled()) {
      this.logJson(envelope)
      return undefined
    }
    // What an error quotes (a corrupt file's bytes, a stored name) must not drive the terminal.
    const {message, hint} = envelope.error
    if (isMorphoError(err)) {
      throw new Errors.CLIError(message, {exit: err.exitCode, suggestions: hint ? [hint] : undefined})
    }
    if (err instanceof Error) err.message = message
    return super.catch(err as Errors.CLIError)
  }

  /** oclif's "Nonexistent flag" becomes a usage error naming the nearest flag the command has. */
  private withSuggestion(err: Errors.CLIError | Error): Errors.CLIError | Error {
    const unknown = (err as {flags?: unknown}).flags
    if (!Array.isArray(unknown) || !err.message.startsWith('Nonexistent flag')) return err
    const flags = {...this.ctor.baseFlags, ...this.ctor.flags} as Record<string, {aliases?: string[]; char?: string}>
    const names = ['json', 'help', ...Object.keys(flags), ...Object.values(flags).flatMap((f) => f.aliases ?? [])]
    const typed = unknown.map((f) => String(f).split('=')[0]!)
    const near = typed.map((f) => (f.startsWith('--') ? nearest(f.slice(2), names) : undefined))
    const command = `${this.config.bin} ${this.id?.split(':').join(' ') ?? ''}`.trim()
    const hints = typed.flatMap((f, i) =>
      near[i] ? [typed.length === 1 ? `Did you mean --${near[i]}?` : `${f}: did you mean --${near[i]}?`] : [],
    )
    return usageError(`Unknown flag${typed.length === 1 ? '' : 's'} ${typed.join(', ')}`, {
      hint: [...hints, `See ${command} --help for its flags.`].join(' '),
      details: {flags: typed, suggestions: near.map((n) => (n ? `--${n}` : null))},
    })
  }
}
