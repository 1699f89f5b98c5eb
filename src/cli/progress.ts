import ora, {type Ora} from 'ora'
import type {TrainingObserver} from '../tracking/tracked-run.js'
import {paintFor} from './color.js'
import {epochLine, eventLine} from './lines.js'

/**
 * Training progress on stderr. On a terminal: one live line redrawn each epoch, with
 * permanent lines for phase changes, germinations and seed transitions. Elsewhere (CI, a
 * pipe): one plain line per epoch and per event. stdout stays free for the result.
 */
export function progressObserver(stream: NodeJS.WriteStream = process.stderr): TrainingObserver {
  const paint = paintFor(stream)
  // A terminal that reports no width (some pseudo-terminals) gets plain lines: the spinner's
  // redraw divides by the width.
  const live = Boolean(stream.isTTY) && (stream.columns ?? 0) > 0 && process.env.TERM !== 'dumb' && !process.env.CI
  let total = 0
  let spinner: Ora | undefined
  const persist = (line: string) => {
    if (spinner) {
      spinner.clear()
      stream.write(`${line}\n`)
      spinner.render()
    } else {
      stream.write(`${line}\n`)
    }
  }
  return {
    start(info) {
      total = info.totalEpochs
      const head = `run ${info.runId}: ${info.problem} on ${info.backend}, ${total} epochs, ${info.seeds.length} seeds`
      stream.write(`${paint.bold(head)}\n`)
      if (live) spinner = ora({stream, text: 'preparing', discardStdin: false}).start()
    },
    epoch(m) {
      const line = epochLine(m, total, paint)
      if (spinner) spinner.text = line
      else stream.write(`${line}\n`)
    },
    event(e) {
      const line = eventLine(e, paint)
      if (line) persist(line)
    },
    end(status) {
      if (!spinner) return
      if (status === 'completed') spinner.succeed(spinner.text)
      else spinner.fail(`${spinner.text} (${status})`)
      spinner = undefined
    },
  }
}
