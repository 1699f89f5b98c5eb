import {
  any,
  arr,
  bool,
  int,
  isoTime,
  named,
  nul,
  nullable,
  num,
  obj,
  objAnd,
  oneOf,
  opt,
  record,
  type Shape,
  str,
  union,
} from './shape.js'

/**
 * The JSON of every command (`--json`) and of every `/api/*` endpoint of the page, in one
 * place: the README's JSON reference is generated from it (src/build/json-reference.mjs) and
 * the tests check what the built CLI prints and the server answers against it. The convention
 * (README "JSON output"): one object at the top; a list is a plural key, with `total` where a
 * limit applies; keys are camelCase, metric names keep their own names; version numbers are
 * numbers; errors are `{"error": Error}` with the exit code (see src/errors.ts).
 */

const STAGE = named('Stage', () => oneOf('None', 'Staging', 'Production', 'Archived'))

export const ErrorBody = named('Error', () =>
  obj({code: str, exitCode: int, message: str, hint: opt(str), details: opt(record(any))}),
)

const Rule = named('Rule', () =>
  union(
    obj({rule: oneOf('manual')}),
    obj({rule: oneOf('auto'), metric: str, threshold: num}),
    obj({rule: oneOf('displaced'), by: int}),
    obj({rule: oneOf('rollback'), from: nullable(int)}),
  ),
)
const RuleAt = named('RuleAt', () =>
  union(
    obj({rule: oneOf('manual'), at: isoTime}),
    obj({rule: oneOf('auto'), metric: str, threshold: num, at: isoTime}),
    obj({rule: oneOf('displaced'), by: int, at: isoTime}),
    obj({rule: oneOf('rollback'), from: nullable(int), at: isoTime}),
  ),
)

export const Version = named('Version', () =>
  obj({
    model: str,
    version: int,
    stage: STAGE,
    runId: str,
    createdAt: isoTime,
    updatedAt: isoTime,
    description: nullable(str),
    tags: record(str),
    metrics: record(num),
    params: obj({problem: str, backend: str, seed: nullable(int)}),
    path: str,
    manifestSha256: str,
    registeredBy: Rule,
    promotedBy: opt(RuleAt),
    aliases: arr(str),
    /** The version's folder here; null for a database store unless this command cached the files. */
    dir: nullable(str),
  }),
)

/** Where an imported version came from: the archive, and the version it was exported as. */
const ImportSource = named('ImportSource', () =>
  obj({
    archive: str,
    sha256: str,
    model: str,
    version: int,
    exportedAt: isoTime,
    exportedBy: obj({morpho: str, host: str}),
  }),
)

export const HistoryEntry = named('HistoryEntry', () =>
  obj({
    seq: int,
    time: isoTime,
    model: str,
    version: int,
    action: oneOf('register', 'transition', 'rollback', 'alias_set', 'alias_delete', 'delete'),
    from: union(STAGE, int, nul),
    to: union(STAGE, int, nul),
    alias: opt(str),
    reason: str,
    rule: Rule,
    source: opt(ImportSource),
    actor: obj({user: str, host: str, pid: int}),
  }),
)

const Germination = named('Germination', () =>
  obj({
    seed: str,
    epoch: int,
    acc_pre: num,
    acc_post: opt(num),
    accuracy_dip: opt(num),
    recovery_epochs: opt(int),
  }),
)

/** A run's summary: its metrics by their own names (val_acc, best_epoch, seeds_germinated …). */
export const Summary = named('Summary', () => objAnd({ended: opt(str), germinations: opt(arr(Germination))}, num))

const Backend = named('Backend', () =>
  obj({
    name: oneOf('tensorflow', 'wasm', 'cpu'),
    requested: str,
    tfjsVersion: str,
    simd: opt(bool),
    threads: opt(int),
    attempts: opt(arr(obj({backend: str, ok: bool, ms: opt(num), reason: opt(str)}))),
  }),
)

export const Run = named('Run', () =>
  obj({
    runId: str,
    status: oneOf('running', 'completed', 'interrupted', 'failed', 'abandoned'),
    problem: str,
    createdAt: isoTime,
    endedAt: nullable(isoTime),
    seconds: nullable(num),
    seed: nullable(int),
    backend: nullable(Backend),
    data: nullable(
      obj({
        kind: oneOf('generated', 'csv'),
        problem: str,
        path: opt(str),
        sha256: opt(str),
        samples: int,
        features: int,
        classes: int,
        train: int,
        val: int,
        test: opt(int),
      }),
    ),
    params: record(any),
    summary: nullable(Summary),
    error: nullable(obj({code: str, message: str})),
    software: nullable(obj({morpho: str, node: str})),
    model: bool,
    versions: arr(obj({model: str, version: int, stage: STAGE})),
    location: str,
  }),
)

const SeedState = oneOf('dormant', 'training', 'blending', 'active')
export const Epoch = named('Epoch', () =>
  objAnd(
    {
      epoch: int,
      phase: oneOf('warm_up', 'adaptation'),
      seeds: obj({dormant: int, training: int, blending: int, active: int}),
      seedStates: arr(obj({id: str, state: SeedState, alpha: num, drift: opt(num)})),
    },
    num,
  ),
)

export const RunEvent = named('RunEvent', () =>
  union(
    obj({type: oneOf('phase'), epoch: int, from: oneOf('init', 'warm_up', 'adaptation'), to: str, time: isoTime}),
    obj({
      type: oneOf('germination'),
      epoch: int,
      seed: str,
      health: num,
      val_loss: num,
      val_acc: num,
      plateau: int,
      time: isoTime,
    }),
    obj({type: oneOf('seed_state'), epoch: int, seed: str, from: SeedState, to: SeedState, time: isoTime}),
    obj({type: oneOf('drift_warning'), epoch: int, seed: str, drift: num, time: isoTime}),
    obj({
      type: oneOf('phase_skipped', 'phase_ended'),
      epoch: int,
      phase: oneOf('adaptation'),
      reason: str,
      time: isoTime,
    }),
    obj({type: oneOf('early_stop'), epoch: int, patience: int, best_epoch: int, time: isoTime}),
    obj({type: oneOf('status'), epoch: int, status: str, message: opt(str), time: isoTime}),
  ),
)

const SweepRun = named('SweepRun', () =>
  obj({
    index: int,
    params: record(any),
    status: oneOf('completed', 'failed'),
    runId: opt(str),
    summary: opt(Summary),
    value: opt(num),
    seconds: num,
    error: opt(obj({code: str, message: str})),
    shard: opt(str),
  }),
)
const Registration = obj({model: str, version: int, runId: str})
const SWEEP_REPORT = {
  id: str,
  metric: str,
  lowerIsBetter: bool,
  total: int,
  done: int,
  complete: bool,
  missing: arr(int),
  runs: arr(SweepRun),
  best: opt(SweepRun),
  registered: opt(Registration),
}
/** What `sweep` prints: the ranking, where it is kept, and this process's share of a sharded grid. */
const Sweep = named('Sweep', () =>
  obj({...SWEEP_REPORT, file: str, shard: opt(obj({index: int, count: int, ran: int}))}),
)
const SweepPlan = named('SweepPlan', () =>
  obj({
    axes: arr(obj({flag: str, key: str, values: arr(any)})),
    fixed: arr(obj({flag: str, key: str, value: any})),
    metric: opt(str),
    lowerIsBetter: opt(bool),
    parallel: opt(int),
  }),
)

const Displaced = obj({version: int, from: STAGE, to: STAGE})
const Register = named('Registered', () => obj({model: str, version: int, entry: Version}))
const Promote = named('Promoted', () =>
  obj({model: str, version: int, from: STAGE, to: STAGE, noop: bool, displaced: arr(Displaced), entry: Version}),
)
const Alias = obj({model: str, alias: str, version: int, previous: nullable(int), noop: bool})

const Boundary = named('Boundary', () =>
  obj({
    source: union(obj({run: str}), obj({model: str, version: int})),
    features: int,
    classes: arr(union(int, str)),
    featureNames: arr(str),
    x: obj({feature: int, min: num, max: num}),
    y: obj({feature: int, min: num, max: num}),
    fixed: arr(num),
    grid: obj({nx: int, ny: int, cls: arr(int), p: arr(num)}),
    points: nullable(obj({x: arr(num), y: arr(num), cls: arr(int), pred: arr(int)})),
    accuracy: nullable(num),
    note: nullable(str),
  }),
)

export interface Entry {
  /** The command (`runs list`) or the endpoint (`GET /api/runs`). */
  name: string
  shape: Shape
  /** When the answer is not the one of success. */
  note?: string
}

/** Every command's `--json` on success (a failure is always `{error: Error}`). */
export const COMMAND_SHAPES: Entry[] = [
  {
    name: 'train',
    shape: union(
      obj({
        run: Run,
        gate: opt(obj({metric: oneOf('val_acc'), value: num, threshold: num, passed: bool})),
        registry: obj({
          messages: arr(str),
          registered: opt(Register),
          promoted: opt(Promote),
          skipped: opt(str),
          notStaged: opt(str),
          error: opt(obj({code: str, message: str})),
        }),
      }),
      Sweep,
    ),
    note: 'with --sweep-config, the sweep, as `morpho sweep` gives it',
  },
  {name: 'runs list', shape: obj({runs: arr(Run), total: int, skipped: arr(obj({runId: str, error: str}))})},
  {name: 'runs show', shape: obj({run: Run, metrics: arr(Epoch), events: arr(RunEvent)})},
  {
    name: 'runs delete',
    shape: obj({deleted: arr(obj({runId: str, versions: arr(obj({model: str, version: int, stage: STAGE}))}))}),
  },
  {name: 'register', shape: Register},
  {name: 'promote', shape: Promote},
  {name: 'list', shape: obj({versions: arr(Version)})},
  {
    name: 'best',
    shape: obj({
      model: str,
      version: int,
      metric: str,
      value: num,
      lowerIsBetter: bool,
      considered: int,
      skipped: int,
      entry: Version,
    }),
  },
  {name: 'production', shape: obj({model: str, version: int, uri: str, dir: str, entry: Version})},
  {name: 'history', shape: obj({entries: arr(HistoryEntry), total: int})},
  {
    name: 'rollback',
    shape: obj({
      model: str,
      version: int,
      from: nullable(int),
      skipped: arr(obj({version: int, reason: str})),
      entry: Version,
    }),
  },
  {
    name: 'delete',
    shape: obj({model: str, version: int, stage: STAGE, runId: str, aliases: arr(str), filesKept: bool}),
  },
  {
    name: 'gc',
    shape: obj({
      removed: arr(obj({model: str, version: nullable(int), path: str, bytes: int})),
      bytes: int,
      dryRun: bool,
    }),
  },
  {name: 'alias set', shape: Alias},
  {name: 'alias delete', shape: Alias},
  {
    name: 'predict',
    shape: obj({
      model: nullable(str),
      version: nullable(int),
      stage: nullable(STAGE),
      predictions: arr(union(int, str)),
      probabilities: arr(arr(num)),
      classes: nullable(arr(union(int, str))),
      inferenceTimeMs: num,
      source: oneOf('registry', 'server', 'file'),
      url: nullable(str),
      modelFile: nullable(obj({path: str, format: oneOf('onnx', 'tfjs'), runtime: str})),
    }),
  },
  {
    name: 'health',
    shape: obj({url: str, status: str, model: str, version: int, stage: nullable(STAGE)}),
    note: 'a server that is down, or up without a model, is the error UNHEALTHY (exit 1)',
  },
  {
    name: 'doctor',
    shape: obj({
      morpho: str,
      node: str,
      platform: str,
      install: oneOf('npm', 'binary'),
      backend: Backend,
      store: obj({
        kind: oneOf('folder', 'postgres'),
        path: str,
        exists: bool,
        writable: bool,
        registry: bool,
        error: opt(str),
      }),
    }),
  },
  {name: 'sweep', shape: Sweep},
  {name: 'sweep report', shape: obj({...SWEEP_REPORT, plan: SweepPlan, createdAt: isoTime})},
  {
    name: 'sweeps list',
    shape: obj({
      sweeps: arr(
        obj({
          id: str,
          createdAt: isoTime,
          metric: str,
          total: int,
          done: int,
          complete: bool,
          best: nullable(obj({runId: str, value: num, params: record(any)})),
          registered: nullable(Registration),
        }),
      ),
    }),
  },
  {name: 'sweeps show', shape: obj({...SWEEP_REPORT, plan: SweepPlan, createdAt: isoTime})},
  {
    name: 'store init',
    shape: obj({store: str, kind: oneOf('folder', 'postgres'), schemaVersion: int, created: bool}),
  },
  {
    name: 'store copy',
    shape: obj({
      from: str,
      to: str,
      runs: int,
      models: int,
      versions: int,
      aliases: int,
      history: int,
      sweeps: int,
    }),
  },
  {
    name: 'export',
    shape: obj({
      format: oneOf('onnx', 'tfjs', 'triton', 'archive'),
      model: str,
      version: nullable(int),
      runId: nullable(str),
      source: oneOf('registry', 'run'),
      out: str,
      files: arr(obj({path: str, size: int, sha256: str})),
      liveSeeds: arr(obj({id: str, state: str, alpha: num})),
      opset: opt(int),
    }),
  },
  {
    name: 'import',
    shape: obj({
      model: str,
      version: int,
      source: ImportSource,
      files: arr(obj({path: str, size: int, sha256: str})),
      entry: Version,
    }),
  },
  {
    name: 'serve',
    shape: union(
      obj({url: str, host: str, port: int, model: nullable(str), version: nullable(int), stage: nullable(str)}),
      obj({url: str, reason: str, requests: int, drained: bool, unfinished: int, seconds: num}),
    ),
    note: 'two lines: the first once it listens, the second when it stops',
  },
  {name: 'ui', shape: obj({url: str, store: str, stoppedBy: str}), note: 'printed when the page server stops'},
  {
    name: 'help',
    shape: union(
      obj({
        command: str,
        summary: nullable(str),
        description: nullable(str),
        examples: arr(str),
        args: arr(obj({name: str, description: nullable(str), required: bool})),
        flags: arr(
          obj({
            name: str,
            char: nullable(str),
            aliases: arr(str),
            description: nullable(str),
            type: oneOf('boolean', 'option'),
            options: nullable(arr(str)),
            default: any,
            multiple: bool,
            required: bool,
          }),
        ),
      }),
      obj({commands: arr(obj({command: str, summary: nullable(str)}))}),
    ),
  },
  {name: 'autocomplete', shape: obj({shell: oneOf('bash', 'zsh'), script: str})},
  {name: '__complete', shape: obj({candidates: arr(str)}), note: 'what the completion scripts call'},
]

/** The page's JSON endpoints (`GET`), on the port of `morpho ui` and `morpho serve`. */
export const API_SHAPES: Entry[] = [
  {
    name: 'GET /api/info',
    shape: obj({
      morpho: nullable(str),
      store: str,
      mode: oneOf('ui', 'serve'),
      served: bool,
      lowerIsBetter: obj({suffixes: arr(str), names: arr(str)}),
    }),
    note: 'lowerIsBetter: the metrics better small (names ending in _<suffix>, or named)',
  },
  {name: 'GET /api/runs', shape: obj({runs: arr(Run), total: int, skipped: arr(obj({runId: str, error: str}))})},
  {name: 'GET /api/runs/{id}', shape: obj({run: Run, metrics: arr(Epoch), events: arr(RunEvent)})},
  {name: 'GET /api/runs/{id}/boundary', shape: Boundary},
  {
    name: 'GET /api/models',
    shape: obj({
      models: arr(
        obj({
          name: str,
          createdAt: isoTime,
          aliases: record(int),
          stages: obj({Production: nullable(int), Staging: nullable(int), Archived: arr(int)}),
          versions: arr(Version),
        }),
      ),
    }),
  },
  {name: 'GET /api/history?model=&limit=', shape: obj({entries: arr(HistoryEntry), total: int})},
  {
    name: 'GET /api/served',
    shape: obj({
      served: nullable(
        obj({
          name: str,
          version: int,
          stage: str,
          loadedAt: isoTime,
          runId: nullable(str),
          problem: nullable(str),
          inputDim: nullable(int),
          classes: nullable(arr(union(int, str))),
          featureNames: nullable(arr(str)),
          featureMeans: nullable(arr(num)),
        }),
      ),
    }),
    note: '`served` is null in `morpho ui`',
  },
  {name: 'GET /api/served/boundary', shape: Boundary},
  {
    name: 'GET /api/traffic',
    shape: obj({
      traffic: nullable(
        obj({
          time: int,
          requests: num,
          errors: num,
          rejected: num,
          latency: obj({count: num, sum: num, buckets: arr(obj({le: nullable(num), count: num}))}),
          prediction: obj({count: num, sum: num}),
          modelLoaded: nullable(num),
        }),
      ),
    }),
    note: '`traffic` is null in `morpho ui`; running totals since the server started',
  },
]

export function shapeOf(name: string): Shape {
  const entry = [...COMMAND_SHAPES, ...API_SHAPES].find((e) => e.name === name)
  if (!entry) throw new Error(`no JSON shape named "${name}" in src/contract/catalog.ts`)
  return entry.shape
}
