import {type OptionSpec, parseOption} from '../option-spec.js'

/**
 * The data generator's rows of the option table: the problems, and each parameter's flag,
 * default (the original runner's) and bounds. The generator checks its parameters against
 * these rows, and the train command's flags are built from them; nothing else holds them.
 */

export const PROBLEMS = ['spirals', 'moons', 'complex-moons', 'clusters', 'spheres'] as const
export type Problem = (typeof PROBLEMS)[number]

export interface DatasetParams {
  samples: number
  inputDim: number
  /** spirals: standard deviation of the Gaussian noise on each coordinate. */
  noise: number
  /** spirals: turns of each arm. */
  rotations: number
  /** moons and complex-moons. */
  moonNoise: number
  /** moons: the x-coordinate is stretched by (moonSep + 1). */
  moonSep: number
  clusterCount: number
  /** Points per cluster; when set, n = clusterCount × clusterSize and `samples` is not used. */
  clusterSize?: number
  clusterStd: number
  clusterSep: number
  sphereCount: number
  /** Points per shell; when set, n = sphereCount × sphereSize and `samples` is not used. */
  sphereSize?: number
  sphereRadii: number[]
  sphereNoise: number
}

export const PROBLEM_SPEC: OptionSpec<'problem'> = {
  key: 'problem',
  flag: 'problem',
  aliases: ['problem-type'],
  kind: 'string',
  group: 'Data',
  default: 'spirals',
  choices: PROBLEMS,
  choicesNote: '(or --data file.csv)',
  description: 'Synthetic problem to generate.',
}

/** The generator's parameters, in the order --help lists them. */
export const DATASET_SPECS: OptionSpec<keyof DatasetParams>[] = [
  {
    key: 'samples',
    flag: 'samples',
    aliases: ['n-samples'],
    kind: 'int',
    group: 'Data',
    default: 2000,
    min: 2,
    max: 1_000_000,
    description: 'Rows to generate.',
  },
  {
    key: 'inputDim',
    flag: 'input-dim',
    kind: 'int',
    group: 'Data',
    default: 3,
    min: 2,
    max: 1_000,
    description: 'Feature count (spirals/moons are padded with N(0,1) columns).',
  },
  {
    key: 'noise',
    flag: 'noise',
    kind: 'float',
    group: 'Data',
    problems: ['spirals'],
    default: 0.25,
    min: 0,
    description: 'Spirals: Gaussian noise.',
  },
  {
    key: 'rotations',
    flag: 'rotations',
    kind: 'float',
    group: 'Data',
    problems: ['spirals'],
    default: 4,
    min: 0,
    exclusive: true,
    description: 'Spirals: turns of each arm.',
  },
  {
    key: 'moonNoise',
    flag: 'moon-noise',
    kind: 'float',
    group: 'Data',
    problems: ['moons', 'complex-moons'],
    default: 0.1,
    min: 0,
    description: 'Moons and complex-moons: Gaussian noise.',
  },
  {
    key: 'moonSep',
    flag: 'moon-sep',
    kind: 'float',
    group: 'Data',
    problems: ['moons'],
    default: 0.5,
    min: 0,
    description: 'Moons: horizontal stretch (x scaled by sep+1).',
  },
  {
    key: 'clusterCount',
    flag: 'cluster-count',
    kind: 'int',
    group: 'Data',
    problems: ['clusters'],
    default: 2,
    min: 1,
    max: 1_000,
    description: 'Clusters: number of clusters.',
  },
  {
    key: 'clusterSize',
    flag: 'cluster-size',
    kind: 'int',
    group: 'Data',
    problems: ['clusters'],
    min: 1,
    max: 1_000_000,
    description: 'Clusters: rows per cluster [default: samples / count].',
  },
  {
    key: 'clusterStd',
    flag: 'cluster-std',
    kind: 'float',
    group: 'Data',
    problems: ['clusters'],
    default: 0.5,
    min: 0,
    description: 'Clusters: standard deviation.',
  },
  {
    key: 'clusterSep',
    flag: 'cluster-sep',
    kind: 'float',
    group: 'Data',
    problems: ['clusters'],
    default: 3,
    min: 0,
    exclusive: true,
    description: 'Clusters: distance of the centres from the origin.',
  },
  {
    key: 'sphereCount',
    flag: 'sphere-count',
    kind: 'int',
    group: 'Data',
    problems: ['spheres'],
    default: 2,
    min: 1,
    max: 1_000,
    description: 'Spheres: number of shells.',
  },
  {
    key: 'sphereSize',
    flag: 'sphere-size',
    kind: 'int',
    group: 'Data',
    problems: ['spheres'],
    min: 1,
    max: 1_000_000,
    description: 'Spheres: rows per shell [default: samples / count].',
  },
  {
    key: 'sphereRadii',
    flag: 'sphere-radii',
    kind: 'radii',
    group: 'Data',
    problems: ['spheres'],
    default: [1, 2],
    description: 'Spheres: comma-separated radii, one per shell.',
  },
  {
    key: 'sphereNoise',
    flag: 'sphere-noise',
    kind: 'float',
    group: 'Data',
    problems: ['spheres'],
    default: 0.05,
    min: 0,
    description: 'Spheres: Gaussian noise.',
  },
]

/** The original runner's defaults. */
export const DEFAULT_DATASET_PARAMS: DatasetParams = Object.freeze(
  Object.fromEntries(
    DATASET_SPECS.map((s) => [s.key, Array.isArray(s.default) ? Object.freeze([...s.default]) : s.default]),
  ),
) as unknown as DatasetParams

export function isProblem(value: string): value is Problem {
  return (PROBLEMS as readonly string[]).includes(value)
}

/** Checks the problem name, and each parameter that problem uses against its row's bounds. */
export function checkDatasetParams(problem: string, params: DatasetParams): asserts problem is Problem {
  parseOption(PROBLEM_SPEC, problem)
  for (const spec of DATASET_SPECS) {
    const value = params[spec.key]
    if (value === undefined || (spec.problems && !spec.problems.includes(problem))) continue
    parseOption(spec, value)
  }
}
