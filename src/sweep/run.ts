import {spawn} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import type {Store} from '../store/store.js'
import type {TrainSummary} from '../training/types.js'
import {grid, type SweepPlan, type SweepValue} from './config.js'
import type {SweepMetric} from './metrics.js'

export interface SweepRun {
  index: number
  params: Record<string, SweepValue>
  status: 'completed' | 'failed'
  runId?: string
  summary?: TrainSummary
  value?: number
  seconds: number
  error?: {code: string; message: string}
}

export interface SweepResult {
  id: string
  metric: SweepMetric
  lowerIsBetter: boolean
  /** Completed runs ranked best first, then failed runs in grid order. */
  runs: SweepRun[]
  best?: SweepRun
  file: string
}

export interface SweepInput {
  plan: SweepPlan
  store: Store
  metric: SweepMetric
  lowerIsBetter: boolean
  parallel: number
  /** How to start `morpho` again (see runtime.ts). */
  self: {file: string; args: string[]}
  /** Extra `train` flags for every run (e.g. --backend). */
  extraArgs?: string[]
  onStart?(run: {index: number; total: number; params: Record<string, SweepValue>}): void
  onDone?(run: SweepRun, total: number): void
  signal?: AbortSignal
}

/** Runs every combination as its own `morpho train` process, `parallel` at a time. */
export async function runSweep(input: SweepInput): Promise<SweepResult> {
  const combos = grid(input.plan.axes)
  const id = `sweep-${new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)}-${randomBytes(3).toString('hex')}`
  const fixedArgs = input.plan.fixed.flatMap((f) => flagArgs(f.flag, f.value))
  const runs: SweepRun[] = []
  let next = 0
  const worker = async () => {
    while (next < combos.length && !input.signal?.aborted) {
      const index = next++
      const params = combos[index]
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
        {index, params, metric: input.metric},
        input.signal,
      )
      runs.push(run)
      input.onDone?.(run, combos.length)
    }
  }
  await Promise.all(Array.from({length: Math.max(1, Math.min(input.parallel, combos.length))}, worker))

  const sign = input.lowerIsBetter ? 1 : -1
  const completed = runs
    .filter((r) => r.status === 'completed' && r.value !== undefined && Number.isFinite(r.value))
    // Ties keep grid order, so the simpler (earlier) combination wins.
    .sort((a, b) => sign * (a.value! - b.value!) || a.index - b.index)
  const rest = runs.filter((r) => !completed.includes(r)).sort((a, b) => a.index - b.index)
  const result: SweepResult = {
    id,
    metric: input.metric,
    lowerIsBetter: input.lowerIsBetter,
    runs: [...completed, ...rest],
    best: completed[0],
    file: input.store.sweeps.describe(id),
  }
  await input.store.sweeps.update(id, async () => ({doc: {...result, plan: input.plan}, result: undefined}))
  return result
}

function flagArgs(flag: string, value: SweepValue | undefined): string[] {
  if (value === undefined) return []
  return [`--${flag}`, Array.isArray(value) ? value.join(',') : String(value)]
}

function trainChild(
  file: string,
  args: string[],
  store: Store,
  {index, params, metric}: {index: number; params: Record<string, SweepValue>; metric: SweepMetric},
  signal?: AbortSignal,
): Promise<SweepRun> {
  const started = performance.now()
  return new Promise((resolve) => {
    const child = spawn(file, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {...process.env, NODE_ENV: 'production', MORPHO_STORE: store.connectionString()},
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
    signal?.addEventListener('abort', onAbort, {once: true})
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
