import ora, {type Ora} from 'ora'
import type {TrainingObserver} from '../tracking/tracked-run.js'
import {paintFor} from './color.js'
import {epochLine, eventLine} from './lines.js'

/**
 * Training progress on stderr. On a terminal: one live line redrawn each epoch, with the
 * time so far, the time per epoch and an estimate of the time left, and permanent lines for
 * phase changes, germinations and seed transitions. Elsewhere (CI, a pipe): one plain line
 * per epoch and per event. stdout stays free for the result.
 */
export function progressObserver(
  stream: NodeJS.WriteStream = process.stderr,
  clock: () => number = () => performance.now(),
): TrainingObserver {
  const paint = paintFor(stream)
  // A terminal that reports no width (some pseudo-terminals) gets plain lines: the spinner's
  // redraw divides by the width. The decision is made here, once (ora's own would differ on CI=).
  const live = Boolean(stream.isTTY) && (stream.columns ?? 0) > 0 && process.env.TERM !== 'dumb' && !process.env.CI
  let total = 0
  let spinner: Ora | undefined
  let startedAt = 0
  const ends: number[] = []
  let last = ''
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
      startedAt = clock()
      const head = `run ${info.runId}: ${info.problem} on ${info.backend}, ${total} epochs, ${info.seeds.length} seeds`
      stream.write(`${paint.bold(head)}\n`)
      if (live) spinner = ora({stream, text: 'preparing', discardStdin: false, isEnabled: true}).start()
    },
    epoch(m) {
      last = epochLine(m, total, paint)
      if (!spinner) {
        stream.write(`${last}\n`)
        return
      }
      ends.push((clock() - startedAt) / 1000)
      spinner.text = `${last}  ${paint.dim(timing(ends, total))}`
      // Drawn now, not at the spinner's next frame: a fast run's epochs all end between frames.
      spinner.render()
    },
    event(e) {
      const line = eventLine(e, paint)
      if (line) persist(line)
    },
    end(status) {
      if (!spinner) return
      const took = paint.dim(`${duration((clock() - startedAt) / 1000)} in all`)
      if (status === 'completed') spinner.succeed(`${last}  ${took}`)
      else spinner.fail(`${last}  ${took} (${status})`)
      spinner = undefined
    },
  }
}

/** Epochs whose times make the per-epoch estimate: recent enough to follow a phase change. */
const WINDOW = 10

/**
 * "12s elapsed, 0.21s/epoch, ETA 41s" from the elapsed seconds at the end of each epoch so
 * far. The time per epoch is the mean over the last epochs (phase 2 steps cost another
 * amount than warm-up's), and the ETA is that times the epochs left.
 */
export function timing(ends: readonly number[], total: number): string {
  const done = ends.length
  const elapsed = ends.at(-1) ?? 0
  const perEpoch = done > WINDOW ? (elapsed - ends[done - 1 - WINDOW]!) / WINDOW : elapsed / Math.max(1, done)
  const left = Math.max(0, total - done) * perEpoch
  return `${duration(elapsed)} elapsed, ${perEpoch < 10 ? perEpoch.toFixed(2) : perEpoch.toFixed(0)}s/epoch, ETA ${duration(left)}`
}

/** 7s, 3m05s, 1h02m. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds))
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
}
