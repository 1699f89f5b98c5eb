import {Command, Errors, Flags} from '@oclif/core'
import type {ChalkInstance} from 'chalk'
import {resolveHome} from '../config.js'
import {isMorphoError, toEnvelope} from '../errors.js'
import {StorePaths} from '../store/paths.js'
import {paintFor} from './color.js'

/**
 * The one base every morpho command extends. It owns the translation of domain errors into
 * exit codes and the JSON error envelope (oclif's own handler would exit 1 under --json).
 */
export abstract class MorphoCommand extends Command {
  static override enableJsonFlag = true

  static override baseFlags = {
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

  protected store(home: string | undefined): StorePaths {
    return new StorePaths(resolveHome(home))
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

  protected override async catch(err: Errors.CLIError | Error): Promise<unknown> {
    const envelope = toEnvelope(err)
    process.exitCode = envelope.error.exitCode
    if (this.jsonEnabled()) {
      this.logJson(envelope)
      return undefined
    }
    if (isMorphoError(err)) {
      throw new Errors.CLIError(err.message, {
        exit: err.exitCode,
        suggestions: err.hint ? [err.hint] : undefined,
      })
    }
    return super.catch(err as Errors.CLIError)
  }
}
