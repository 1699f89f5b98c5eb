import type {Architecture} from '../model/model-file.js'
import {INPUT_NAME, PREDICTIONS_NAME, PROBABILITIES_NAME} from './meta.js'

/**
 * A Triton model repository for the ONNX export: <repo>/<name>/config.pbtxt and
 * <repo>/<name>/<version>/model.onnx, which `tritonserver --model-repository <repo>` serves with
 * its ONNX Runtime backend (KServe's ONNX runtime reads the same layout).
 *
 * With max_batch_size > 0, Triton leaves the batch dimension out of `dims`; an output that is
 * only the batch dimension ([N] predictions) is declared [1] and reshaped to [] as Triton
 * requires for it.
 */

/** morpho serve's default --max-batch-rows. */
export const TRITON_MAX_BATCH_SIZE = 4096

export function tritonConfig(name: string, arch: Architecture): string {
  return `${[
    `name: "${name}"`,
    'backend: "onnxruntime"',
    `max_batch_size: ${TRITON_MAX_BATCH_SIZE}`,
    'input [',
    `  { name: "${INPUT_NAME}", data_type: TYPE_FP32, dims: [ ${arch.inputDim} ] }`,
    ']',
    'output [',
    `  { name: "${PROBABILITIES_NAME}", data_type: TYPE_FP32, dims: [ ${arch.numClasses} ] },`,
    `  { name: "${PREDICTIONS_NAME}", data_type: TYPE_INT64, dims: [ 1 ], reshape: { shape: [ ] } }`,
    ']',
    'dynamic_batching { }',
    'instance_group [ { kind: KIND_CPU } ]',
  ].join('\n')}\n`
}
