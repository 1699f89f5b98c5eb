export {type CsvDataset, loadCsv, parseCsv} from './csv.js'
export {type Dataset, generate, indexLabels, validateDatasetParams} from './datasets.js'
export {
  DATASET_SPECS,
  type DatasetParams,
  DEFAULT_DATASET_PARAMS,
  isProblem,
  PROBLEM_SPEC,
  PROBLEMS,
  type Problem,
} from './params.js'
export {Rng, type TypedArray} from './rng.js'
export {applyScaler, fitScaler, type Scaler} from './scaler.js'
export {splitDataset} from './split.js'
