import {spawn} from 'node:child_process'
import {PARENT_PID_ENV} from '../cli/interrupt.js'
import type {Store} from '../store/store.js'
import {TRAIN_THREADS_ENV} from '../training/product-thread.js'
import type {TrainSummary} from '../training/types.js'
import {grid, type SweepPlan, type SweepValue} from './config.js'
import type {SweepMetric} from './metrics.js'
import {recordRuns, type SweepReport, type SweepRun} from './record.js'

export type {SweepRun} from './record.js'

/** A sweep as one process ran it: the whole grid's ranking as the store now has it. */
export interface SweepResult extends SweepReport {
  /** Where the sweep's document is: its file, or "sweep <id> in <store>". */
  file: string
  /** This process's share of the grid, when sharded. */
  shard?: {index: number; count: number; ran: number}
}

export interface SweepInput {
  plan: SweepPlan
  store: Store
  metric: SweepMetric
  lowerIsBetter: boolean
  parallel: number
  /** The sweep's id; every shard of one sweep gives the same. */
  id: string
  /** Run only this share of the grid: the combinations whose index is `index` modulo `count`. */
  shard?: {index: number; count: number}
  /** How to start `morpho` again (see runtime.ts). */
  self: {file: string; args: string[]}
  /** Extra `train` flags for every run (e.g. --backend). */
  extraArgs?: string[]
  onStart?(run: {index: number; total: number; params: Record<string, SweepValue>}): void
  onDone?(run: SweepRun, total: number): void
  signal?: AbortSignal
}

/**
 * Runs this process's combinations, each as its own `morpho train` process, `parallel` at a
 * time, recording every finished run in the store's sweep document as it lands.
 */
export async function runSweep(input: SweepInput): Promise<SweepResult> {
  const combos = grid(input.plan.axes)
  const header = {
    id: input.id,
    plan: input.plan,
    metric: input.metric,
    lowerIsBetter: input.lowerIsBetter,
    total: combos.length,
  }
  const shard = input.shard
  const mine = combos.map((_, i) => i).filter((i) => !shard || i % shard.count === shard.index)
  const fixedArgs = input.plan.fixed.flatMap((f) => flagArgs(f.flag, f.value))
  // Recorded before the first run, so a report shows the sweep from its start.
  let report = await recordRuns(input.store, header, [])
  let next = 0
  let ran = 0
  const together = Math.max(1, Math.min(input.parallel, mine.length))
  // Runs side by side already use the cores: each trains on one thread, unless told otherwise.
  const env: Record<string, string> =
    together > 1 && process.env[TRAIN_THREADS_ENV] === undefined ? {[TRAIN_THREADS_ENV]: '1'} : {}
  const worker = async () => {
    while (next < mine.length && !input.signal?.aborted) {
      const index = mine[next++]!
      const params = combos[index]!
      input.onStart?.({index, total: combos.length, params})
      const args = [
        ...input.self.args,
        'train',
        ...fixedArgs,
        ...Object.entries(params).flatMap(([flag, value]) => flagArgs(flag, value)),
        ...(input.extraArgs ?? []),
        '--no-register',
        '--quiet',
        '--json',
      ]
      const run = await trainChild(
        input.self.file,
        args,
        input.store,
        {index, params, metric: input.metric, env},
        input.signal,
      )
      if (shard) run.shard = `${shard.index}/${shard.count}`
      ran++
      report = await recordRuns(input.store, header, [run])
      input.onDone?.(run, combos.length)
    }
  }
  await Promise.all(Array.from({length: together}, worker))
  return {
    ...report,
    file: input.store.sweeps.describe(input.id),
    ...(shard ? {shard: {...shard, ran}} : {}),
  }
}

function flagArgs(flag: string, value: SweepValue | undefined): string[] {
  if (value === undefined) return []
  return [`--${flag}`, Array.isArray(value) ? value.join(',') : String(value)]
}

function trainChild(
  file: string,
  args: string[],
  store: Store,
  {
    index,
    params,
    metric,
    env,
  }: {index: number; params: Record<string, SweepValue>; metric: SweepMetric; env: Record<string, string>},
  signal?: AbortSignal,
): Promise<SweepRun> {
  const started = performance.now()
  return new Promise((resolve) => {
    const child = spawn(file, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        ...env,
        NODE_ENV: 'production',
        MORPHO_STORE: store.connectionString(),
        [PARENT_PID_ENV]: String(process.pid),
      },
      // Its own process group: a Ctrl-C at the terminal reaches the sweep, which passes one
      // SIGINT on (two would make the run quit at once, unrecorded).
      detached: true,
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => {
      stdout += d
    })
    child.stderr.on('data', (d) => {
      stderr += d
    })
    const onAbort = () => child.kill('SIGINT')
    if (signal?.aborted) onAbort()
    else signal?.addEventListener('abort', onAbort, {once: true})
    child.on('close', (code) => {
      signal?.removeEventListener('abort', onAbort)
      const seconds = (performance.now() - started) / 1000
      let parsed: {run?: {runId: string; summary: TrainSummary}; error?: {code: string; message: string}} = {}
      try {
        parsed = JSON.parse(stdout)
      } catch {
        // A crash before any JSON: keep stderr as the reason.
      }
      if (code === 0 && parsed.run) {
        const summary = parsed.run.summary
        resolve({index, params, status: 'completed', runId: parsed.run.runId, summary, value: summary[metric], seconds})
      } else {
        const error = parsed.error ?? {
          code: 'INTERNAL',
          message: stderr.trim().split('\n').slice(-3).join(' ') || `exit ${code}`,
        }
        resolve({index, params, status: 'failed', seconds, error: {code: error.code, message: error.message}})
      }
    })
  })
}
