import {createRequire} from 'node:module'
import type * as Ort from 'onnxruntime-node'
import {MorphoError} from '../errors.js'

/**
 * ONNX Runtime for `predict --model-file x.onnx`, loaded on first use. It is not installed
 * with morpho: the package carries native builds for every platform (about 290 MB) and its
 * install step downloads CUDA libraries from outside the npm registry on Linux x64. A user who
 * wants to run ONNX exports installs it beside morpho (an optional peer dependency); morpho
 * itself writes ONNX files without it.
 */

export type OnnxRuntime = typeof Ort

const require = createRequire(import.meta.url)
let runtime: OnnxRuntime | undefined

export const ORT_INSTALL = 'npm install onnxruntime-node --onnxruntime-node-install=skip'

export function loadOnnxRuntime(): OnnxRuntime {
  if (runtime) return runtime
  try {
    runtime = require('onnxruntime-node') as OnnxRuntime
    return runtime
  } catch (err) {
    throw new MorphoError(
      'BACKEND_UNAVAILABLE',
      `ONNX Runtime (onnxruntime-node) is not installed: ${firstLine(err)}`,
      {
        hint: `Install it where morpho is installed (\`${ORT_INSTALL}\`, with -g for a global morpho); "=skip" leaves out the CUDA download. Or check the export with its TF.js twin: morpho export … --format tfjs.`,
        cause: err,
      },
    )
  }
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n', 1)[0]!
}
