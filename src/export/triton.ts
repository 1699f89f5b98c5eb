import type {Architecture, ClassLabels} from '../model/model-file.js'
import {INPUT_NAME, PREDICTIONS_NAME, PROBABILITIES_NAME} from './meta.js'

/**
 * A Triton model repository for the ONNX export: <repo>/<name>/config.pbtxt and
 * <repo>/<name>/<version>/model.onnx, which `tritonserver --model-repository <repo>` serves with
 * its ONNX Runtime backend (KServe's ONNX runtime reads the same layout).
 *
 * With max_batch_size > 0, Triton leaves the batch dimension out of `dims`; an output that is
 * only the batch dimension ([N] predictions) is declared [1] and reshaped to [] as Triton
 * requires for it.
 *
 * The class labels go in <repo>/<name>/labels.txt, one per line in output order, named by the
 * probabilities output's label_filename: Triton's classification extension answers a request for
 * the top classes with "probability:index:label" from it. The predictions output is int64, or a
 * string tensor (TYPE_STRING, BYTES over the protocol) for a model trained on text labels.
 */

export const TRITON_LABELS_FILE = 'labels.txt'

/** morpho serve's default --max-batch-rows. */
export const TRITON_MAX_BATCH_SIZE = 4096

export function tritonConfig(name: string, arch: Architecture, classes: ClassLabels): string {
  const labelType = classes.every((c) => typeof c === 'string') ? 'TYPE_STRING' : 'TYPE_INT64'
  return `${[
    `name: "${name}"`,
    'backend: "onnxruntime"',
    `max_batch_size: ${TRITON_MAX_BATCH_SIZE}`,
    'input [',
    `  { name: "${INPUT_NAME}", data_type: TYPE_FP32, dims: [ ${arch.inputDim} ] }`,
    ']',
    'output [',
    `  { name: "${PROBABILITIES_NAME}", data_type: TYPE_FP32, dims: [ ${arch.numClasses} ], label_filename: "${TRITON_LABELS_FILE}" },`,
    `  { name: "${PREDICTIONS_NAME}", data_type: ${labelType}, dims: [ 1 ], reshape: { shape: [ ] } }`,
    ']',
    'dynamic_batching { }',
    'instance_group [ { kind: KIND_CPU } ]',
  ].join('\n')}\n`
}

/** labels.txt: one label per line, in the order of the probabilities (a label never holds a line break). */
export function tritonLabels(classes: ClassLabels): string {
  return `${classes.map(String).join('\n')}\n`
}
