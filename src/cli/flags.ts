import {Flags} from '@oclif/core'
import {STAGES, type Stage} from '../registry/schema.js'
import {parseStage} from '../registry/select.js'

/**
 * A --stage flag that takes a stage name in any case (`production`, `PRODUCTION`), like
 * `promote` and the registry do: oclif's own `options` would refuse anything but the exact
 * spelling. The choices still show in the usage line and in shell completion; the command
 * reads the value with `stageOf`, which refuses another name with the choices as the hint.
 */
export function stageFlag(description: string, allowed: readonly Stage[] = STAGES, exclusive?: string[]) {
  return Flags.string({
    description: `${description} (${allowed.join(', ')}; any case)`,
    helpValue: allowed.join('|'),
    ...(exclusive ? {exclusive} : {}),
  })
}

/** The stage a --stage flag names, in its own spelling; undefined when the flag is not given. */
export function stageOf(value: string | undefined, allowed: readonly Stage[] = STAGES): Stage | undefined {
  return value === undefined ? undefined : parseStage(value, allowed)
}
