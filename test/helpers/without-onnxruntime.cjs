'use strict'
// Preloaded with --require: resolves `onnxruntime-node` as a machine without it would, so a
// test can see what a user who installed morpho alone gets from `predict --model-file x.onnx`.
const Module = require('node:module')
const resolve = Module._resolveFilename
Module._resolveFilename = function (request, ...rest) {
  if (request === 'onnxruntime-node' || request.startsWith('onnxruntime-node/')) {
    const err = new Error(`Cannot find module '${request}'`)
    err.code = 'MODULE_NOT_FOUND'
    throw err
  }
  return resolve.call(this, request, ...rest)
}
