import type {ClassLabels} from '../model/model-file.js'
import {servedLayers, type Weight} from '../model/predictor.js'
import type {LoadedModel} from '../model/serialize.js'
import {type ExportMeta, exportProps, INPUT_NAME, PREDICTIONS_NAME, PROBABILITIES_NAME} from './meta.js'
import {
  ATTR_INT,
  encodeOnnx,
  ONNX_FLOAT,
  ONNX_INT64,
  ONNX_STRING,
  type OnnxModel,
  type OnnxNode,
  type OnnxTensor,
  type OnnxValueInfo,
} from './onnx-proto.js'

/**
 * A saved model as one ONNX graph that takes raw float32 rows [N, features] and gives
 * `probabilities` [N, classes] and `predictions` [N] (the class labels: int64, or string for a
 * model trained on text labels):
 *
 *   (input − mean) / std → Gemm+Relu → per block: Gemm+Relu, then + Σ (α/s)·seed(h)
 *   → Gemm → Softmax → ArgMax → Gather(labels)
 *
 * The same layout the serving predictors read (servedLayers): live seeds (blending, active)
 * with their alpha, dormant and training ones (alpha 0) left out.
 */

export const ONNX_IR_VERSION = 10
export const ONNX_OPSET = 21

export function buildOnnx(loaded: LoadedModel, meta: ExportMeta): Promise<Uint8Array> {
  const arch = loaded.file.architecture
  const nodes: OnnxNode[] = []
  const initializers: OnnxTensor[] = []
  const node = (opType: string, input: string[], attrs: OnnxNode['attribute'], name: string) => {
    nodes.push({name, opType, input, output: [name], attribute: attrs})
    return name
  }
  const constant = (name: string, dims: number[], values: Float32Array) => {
    initializers.push(floatTensor(name, dims, values))
    return name
  }
  const weight = (name: string, w: Weight) => constant(name, w.shape, w.values)
  // Layers are named as the saved weights are, so the graph reads like model.json.
  const layers = servedLayers(loaded, (kernel, bias, relu) => ({kernel, bias, relu}))
  const dense = (x: string, prefix: string, layer: {kernel: Weight; bias: Weight; relu: boolean}) => {
    const y = node(
      'Gemm',
      [x, weight(`${prefix}/kernel`, layer.kernel), weight(`${prefix}/bias`, layer.bias)],
      [],
      `${prefix}/gemm`,
    )
    return layer.relu ? node('Relu', [y], [], `${prefix}/relu`) : y
  }

  const mean = constant('scaler/mean', [arch.inputDim], Float32Array.from(loaded.file.scaler.mean))
  const std = constant('scaler/std', [arch.inputDim], Float32Array.from(loaded.file.scaler.std))
  let h = node('Div', [node('Sub', [INPUT_NAME, mean], [], 'scaler/sub'), std], [], 'scaler/div')
  h = dense(h, 'input', layers.input)
  for (let i = 0; i < arch.numLayers; i++) {
    h = dense(h, `hidden${i + 1}`, layers.hidden[i]!)
    const parts: string[] = []
    for (const seed of layers.seedsByLayer[i]!) {
      const child = dense(dense(h, `${seed.id}/inner`, seed.inner), `${seed.id}/outer`, seed.outer)
      // As the JavaScript predictor: each adapter scaled by alpha / seeds per layer, then summed.
      const f = Math.fround(seed.alpha / arch.seedsPerLayer)
      const scale = () => constant(`${seed.id}/scale`, [], Float32Array.of(f))
      parts.push(f === 1 ? child : node('Mul', [child, scale()], [], `${seed.id}/mul`))
    }
    if (parts.length > 0) {
      const sum = parts.length === 1 ? parts[0]! : node('Sum', parts, [], `block${i + 1}/seeds`)
      h = node('Add', [h, sum], [], `block${i + 1}/residual`)
    }
  }
  const logits = dense(h, 'output', layers.output)
  nodes.push({
    name: 'softmax',
    opType: 'Softmax',
    input: [logits],
    output: [PROBABILITIES_NAME],
    attribute: [intAttr('axis', 1)],
  })
  const index = node('ArgMax', [PROBABILITIES_NAME], [intAttr('axis', 1), intAttr('keepdims', 0)], 'argmax')
  const labels = labelTensor('classes', loaded.file.classes)
  initializers.push(labels)
  nodes.push({
    name: 'labels',
    opType: 'Gather',
    input: ['classes', index],
    output: [PREDICTIONS_NAME],
    attribute: [intAttr('axis', 0)],
  })

  const props = exportProps(loaded, meta)
  const model: OnnxModel = {
    irVersion: ONNX_IR_VERSION,
    producerName: 'morpho',
    producerVersion: meta.morphoVersion,
    domain: 'morpho',
    ...(meta.version === null ? {} : {modelVersion: meta.version}),
    docString: `${meta.model}${meta.version === null ? '' : ` v${meta.version}`}: raw features in, class probabilities and labels out`,
    opsetImport: [{domain: '', version: ONNX_OPSET}],
    metadataProps: Object.entries(props).map(([key, value]) => ({key, value})),
    graph: {
      name: meta.model,
      node: nodes,
      initializer: initializers,
      input: [valueInfo(INPUT_NAME, ONNX_FLOAT, ['N', arch.inputDim])],
      output: [
        valueInfo(PROBABILITIES_NAME, ONNX_FLOAT, ['N', arch.numClasses]),
        valueInfo(PREDICTIONS_NAME, labels.dataType, ['N']),
      ],
    },
  }
  return encodeOnnx(model)
}

function valueInfo(name: string, elemType: number, shape: (number | string)[]): OnnxValueInfo {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: {dim: shape.map((d) => (typeof d === 'number' ? {dimValue: d} : {dimParam: d}))},
      },
    },
  }
}

function intAttr(name: string, i: number) {
  return {name, type: ATTR_INT, i}
}

function floatTensor(name: string, dims: number[], values: Float32Array): OnnxTensor {
  const raw = new Uint8Array(values.length * 4)
  const view = new DataView(raw.buffer)
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true)
  return {name, dataType: ONNX_FLOAT, dims, rawData: raw}
}

/** The class labels as a tensor the graph gathers from: int64, or string for text labels. */
function labelTensor(name: string, classes: ClassLabels): OnnxTensor {
  if (classes.every((c) => typeof c === 'string')) {
    const utf8 = new TextEncoder()
    return {name, dataType: ONNX_STRING, dims: [classes.length], stringData: classes.map((c) => utf8.encode(c))}
  }
  return int64Tensor(name, [classes.length], classes as number[])
}

function int64Tensor(name: string, dims: number[], values: number[]): OnnxTensor {
  const raw = new Uint8Array(values.length * 8)
  const view = new DataView(raw.buffer)
  for (let i = 0; i < values.length; i++) view.setBigInt64(i * 8, BigInt(values[i]!), true)
  return {name, dataType: ONNX_INT64, dims, rawData: raw}
}
