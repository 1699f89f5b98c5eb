import {featureNames, type SavedSeed} from '../model/model-file.js'
import type {LoadedModel} from '../model/serialize.js'

/**
 * What every export says about the model it carries, and the tensor names the ONNX graph,
 * the Triton configuration and `predict --model-file` agree on. The names are the ones
 * morpho serve's Open Inference Protocol endpoint uses, so a client of one works with the other.
 */

export const INPUT_NAME = 'input'
export const PROBABILITIES_NAME = 'probabilities'
export const PREDICTIONS_NAME = 'predictions'

export interface ExportMeta {
  /** The registered model's name (a run's export: its problem). */
  model: string
  /** The registered version; null when the export was made from a run. */
  version: number | null
  runId: string | null
  morphoVersion: string
}

/** The seeds an export computes (blending and active), with the alpha they are exported at. */
export function liveSeeds(loaded: LoadedModel): SavedSeed[] {
  return loaded.file.seeds.filter((s) => s.state === 'active' || (s.state === 'blending' && s.alpha > 0))
}

/** Key/value pairs an export carries (ONNX metadata_props, TF.js userDefinedMetadata). */
export function exportProps(loaded: LoadedModel, meta: ExportMeta): Record<string, string> {
  return {
    model_name: meta.model,
    model_version: meta.version === null ? '' : String(meta.version),
    run_id: meta.runId ?? '',
    problem: loaded.file.problem,
    classes: JSON.stringify(loaded.file.classes),
    feature_names: JSON.stringify(featureNames(loaded.file)),
    live_seeds: JSON.stringify(liveSeeds(loaded).map(({id, state, alpha}) => ({id, state, alpha}))),
    morpho_version: meta.morphoVersion,
  }
}
