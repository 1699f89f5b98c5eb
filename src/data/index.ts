export {type CsvDataset, loadCsv, parseCsv} from './csv.js'
export {
  type Dataset,
  type DatasetParams,
  DEFAULT_DATASET_PARAMS,
  generate,
  indexLabels,
  isProblem,
  PROBLEMS,
  type Problem,
  parseRadii,
  validateDatasetParams,
} from './datasets.js'
export {Rng, type TypedArray} from './rng.js'
export {applyScaler, fitScaler, type Scaler} from './scaler.js'
export {splitDataset} from './split.js'
