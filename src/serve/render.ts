import {invalidData} from '../errors.js'
import type {ClassLabel, ClassLabels} from '../model/model-file.js'
import {argmaxRow, firstNonFiniteRow} from '../model/predictor.js'
import {getModel, type RegistryModels, STAGES} from '../registry/index.js'
import type {ModelHolder} from './model-holder.js'
import type {ModelSnapshot} from './snapshot.js'

/**
 * The answers of the prediction endpoints and /models, built from what was computed: pure
 * functions, no I/O. A row whose probabilities are not finite is refused here, for every
 * endpoint alike: its features were too far out of range for the model.
 */

/** Throws INVALID_DATA (a 400 over HTTP) naming the first row whose probabilities are not finite. */
export function checkProbabilities(probs: Float32Array, n: number, k: number, field: string, model: string): void {
  const bad = firstNonFiniteRow(probs, n, k)
  if (bad !== -1) {
    throw invalidData(
      `${field}[${bad}] gives non-finite probabilities: its features are too far out of range for ${model}`,
    )
  }
}

/**
 * POST /predict: {"predictions", "probabilities", "model_version", "inference_time_ms"} — the
 * original's — and "classes", the labels in the order of each row's probabilities; written
 * directly: at a row or a few per request, building the text costs less than arrays for
 * JSON.stringify.
 */
export function renderPrediction(
  snapshot: ModelSnapshot,
  probs: Float32Array,
  n: number,
  ms: number,
  field: string,
): string {
  const k = snapshot.forward.numClasses
  const labelText = snapshot.labelsJson
  checkProbabilities(probs, n, k, field, snapshot.label)
  let predictions = ''
  let probabilities = ''
  for (let r = 0; r < n; r++) {
    const base = r * k
    let row = ''
    for (let j = 0; j < k; j++) row += j === 0 ? probs[base] : `,${probs[base + j]}`
    const label = labelText[argmaxRow(probs, base, k)]
    predictions += r === 0 ? label : `,${label}`
    probabilities += r === 0 ? `[${row}]` : `,[${row}]`
  }
  const time = Math.round(ms * 1000) / 1000
  return `{"predictions":[${predictions}],"probabilities":[${probabilities}],"model_version":"${snapshot.version}","inference_time_ms":${time},"classes":${snapshot.classesJson}}`
}

/** POST /v2/models/{name}[/versions/{v}]/infer: the outputs asked for, in the order asked. */
export function renderInfer(
  snapshot: ModelSnapshot,
  probs: Float32Array,
  n: number,
  outputs: readonly string[],
  id: string | undefined,
): string {
  const k = snapshot.forward.numClasses
  checkProbabilities(probs, n, k, 'inputs[0]', snapshot.label)
  const out: object[] = []
  for (const name of outputs) {
    if (name === 'probabilities') {
      out.push({name, shape: [n, k], datatype: 'FP32', data: Array.from(probs)})
    } else {
      const labels = new Array<ClassLabel>(n)
      for (let r = 0; r < n; r++) labels[r] = snapshot.classes[argmaxRow(probs, r * k, k)]!
      out.push({name, shape: [n], datatype: labelType(snapshot.classes), data: labels})
    }
  }
  return JSON.stringify({
    model_name: snapshot.name,
    model_version: String(snapshot.version),
    ...(id === undefined ? {} : {id}),
    outputs: out,
  })
}

/** GET /v2/models/{name}[/versions/{v}]: the model's tensors, and its registered versions. */
export function renderMetadata(snapshot: ModelSnapshot, doc: RegistryModels, versioned: boolean): string {
  const record = getModel(doc, snapshot.name)
  return JSON.stringify({
    name: snapshot.name,
    versions: record ? record.versions.map((v) => String(v.version)) : [String(snapshot.version)],
    platform: 'morpho',
    // OIP parameters are scalars: the names comma-separated (a CSV header's names never hold a comma).
    inputs: [
      {
        name: 'input',
        datatype: 'FP32',
        shape: [-1, snapshot.inputDim],
        parameters: {feature_names: snapshot.featureNames.join(',')},
      },
    ],
    outputs: [
      {name: 'probabilities', datatype: 'FP32', shape: [-1, snapshot.forward.numClasses]},
      {name: 'predictions', datatype: labelType(snapshot.classes), shape: [-1]},
    ],
    ...(versioned ? {version: String(snapshot.version)} : {}),
  })
}

/** The OIP datatype of the predictions tensor: INT64 for integer labels, BYTES (strings in JSON) for text labels. */
export function labelType(classes: ClassLabels): 'INT64' | 'FP64' | 'BYTES' {
  if (classes.every((c) => typeof c === 'string')) return 'BYTES'
  return classes.every((c) => Number.isInteger(c)) ? 'INT64' : 'FP64'
}

/**
 * GET /models: the original's three fields, plus stages, aliases and what is loaded — with the
 * loaded version's feature names and class labels (null while none is loaded).
 */
export function renderModels(doc: RegistryModels, holder: ModelHolder) {
  const current = holder.current
  const names = Object.keys(doc.models).sort()
  let name = holder.modelName
  if (name === undefined && names.length === 1) name = names[0]
  const record = name === undefined ? undefined : getModel(doc, name)
  const stages = Object.fromEntries(STAGES.map((s) => [s, [] as string[]]))
  const aliases: Record<string, string> = {}
  let available: string[] = []
  if (record) {
    available = record.versions.map((v) => String(v.version)).reverse()
    for (const v of record.versions) stages[v.stage]!.push(String(v.version))
    for (const alias of Object.keys(record.aliases).sort()) aliases[alias] = String(record.aliases[alias])
  }
  const last = holder.lastReload
  const shown = current && current.name === name ? current : undefined
  return {
    model_name: name ?? null,
    current_version: shown ? String(shown.version) : null,
    current_stage: current?.stage ?? null,
    loaded_at: current?.loadedAt ?? null,
    available_versions: available,
    stages,
    aliases,
    models: names,
    feature_names: shown?.featureNames ?? null,
    classes: shown?.classes ?? null,
    last_reload: last
      ? {
          trigger: last.trigger,
          at: last.at,
          result: last.ok ? 'success' : 'failure',
          ...(last.ok ? {version: String(last.version)} : {error: last.error.message}),
        }
      : null,
  }
}
