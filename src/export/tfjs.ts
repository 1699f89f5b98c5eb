import type {LayersModel, SymbolicTensor, Tensor} from '@tensorflow/tfjs'
import {servedLayers, type Weight} from '../model/predictor.js'
import type {LoadedModel} from '../model/serialize.js'
import type {Tf} from '../tf/backend.js'
import {type ExportMeta, exportProps, INPUT_NAME, PROBABILITIES_NAME} from './meta.js'

/**
 * A saved model as a standard TF.js LayersModel (model.json + weights.bin) that
 * `tf.loadLayersModel` loads in Node and in a browser. It is built with TF.js's own layers
 * and saved by TF.js itself, so the file is what TF.js writes:
 *
 *   input → standardize (Dense, diagonal: x/std − mean/std) → input_dense (ReLU)
 *   → per block: hiddenN (ReLU), then Add(h, seed adapters, each Dense→ReLU→Dense with its
 *   alpha / seeds-per-layer folded into the last Dense) → probabilities (Dense, softmax)
 *
 * Live seeds only (blending, active), as the serving predictors compute them.
 */

export const TFJS_MODEL_FILE = 'model.json'
export const TFJS_WEIGHTS_FILE = 'weights.bin'

export interface TfjsArtifacts {
  modelJson: Record<string, unknown>
  weights: Uint8Array
}

export async function buildTfjs(tf: Tf, loaded: LoadedModel, meta: ExportMeta): Promise<TfjsArtifacts> {
  const arch = loaded.file.architecture
  const d = arch.inputDim
  const layers = servedLayers(loaded, (kernel, bias, relu) => ({kernel, bias, relu}))
  const made: Tensor[] = []
  const tensor = (values: Float32Array, shape: number[]) => {
    const t = tf.tensor(values, shape, 'float32')
    made.push(t)
    return t
  }
  const dense = (
    x: SymbolicTensor,
    name: string,
    layer: {kernel: Weight; bias: Weight; relu: boolean},
    scale = 1,
    activation: 'relu' | 'linear' | 'softmax' = layer.relu ? 'relu' : 'linear',
  ) =>
    tf.layers
      .dense({
        name,
        units: layer.kernel.shape[1]!,
        activation,
        weights: [
          tensor(scaled(layer.kernel.values, scale), layer.kernel.shape),
          tensor(scaled(layer.bias.values, scale), layer.bias.shape),
        ],
      })
      .apply(x) as SymbolicTensor

  let model: LayersModel | undefined
  try {
    const input = tf.input({shape: [d], name: INPUT_NAME, dtype: 'float32'})
    const {mean, std} = loaded.file.scaler
    const diagonal = new Float32Array(d * d)
    for (let i = 0; i < d; i++) diagonal[i * d + i] = 1 / std[i]!
    const offset = Float32Array.from(mean, (m, i) => -m / std[i]!)
    let h = tf.layers
      .dense({
        name: 'standardize',
        units: d,
        trainable: false,
        weights: [tensor(diagonal, [d, d]), tensor(offset, [d])],
      })
      .apply(input) as SymbolicTensor
    h = dense(h, 'input_dense', layers.input)
    for (let i = 0; i < arch.numLayers; i++) {
      h = dense(h, `hidden${i + 1}`, layers.hidden[i]!)
      const seeds = layers.seedsByLayer[i]!
      if (seeds.length === 0) continue
      const adapters = seeds.map((seed) =>
        dense(
          dense(h, `${seed.id}_inner`, seed.inner),
          `${seed.id}_outer`,
          seed.outer,
          seed.alpha / arch.seedsPerLayer,
        ),
      )
      h = tf.layers.add({name: `block${i + 1}_residual`}).apply([h, ...adapters]) as SymbolicTensor
    }
    const probabilities = dense(h, PROBABILITIES_NAME, layers.output, 1, 'softmax')
    model = tf.model({inputs: input, outputs: probabilities, name: meta.model.replace(/[^A-Za-z0-9_]/g, '_')})
    model.setUserDefinedMetadata(userMetadata(loaded, meta))
    let artifacts: Awaited<Parameters<Parameters<typeof tf.io.withSaveHandler>[0]>[0]> | undefined
    await model.save(
      tf.io.withSaveHandler(async (a) => {
        artifacts = a
        return {modelArtifactsInfo: {dateSaved: new Date(), modelTopologyType: 'JSON'}}
      }),
    )
    if (!artifacts?.weightData || !artifacts.weightSpecs) throw new Error('TF.js saved no weights')
    const weightData = Array.isArray(artifacts.weightData)
      ? new Uint8Array(tf.io.concatenateArrayBuffers(artifacts.weightData))
      : new Uint8Array(artifacts.weightData)
    return {
      modelJson: {
        format: 'layers-model',
        generatedBy: `morpho ${meta.morphoVersion} (TensorFlow.js ${tf.version_core})`,
        convertedBy: null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{paths: [TFJS_WEIGHTS_FILE], weights: artifacts.weightSpecs}],
        userDefinedMetadata: artifacts.userDefinedMetadata,
      },
      weights: weightData,
    }
  } finally {
    model?.dispose()
    for (const t of made) t.dispose()
  }
}

/** exportProps() with the lists as JSON values rather than strings: TF.js keeps any JSON here. */
function userMetadata(loaded: LoadedModel, meta: ExportMeta): Record<string, unknown> {
  const props: Record<string, unknown> = exportProps(loaded, meta)
  for (const key of ['classes', 'feature_names', 'live_seeds']) props[key] = JSON.parse(props[key] as string)
  return {morpho: props}
}

function scaled(values: Float32Array, scale: number): Float32Array {
  return scale === 1 ? values : Float32Array.from(values, (v) => v * scale)
}
