import type * as Protobuf from 'protobufjs/light.js'

/**
 * The part of the ONNX protobuf schema morpho writes and reads: a model, its graph, nodes with
 * attributes, tensors, typed values and metadata. Field numbers are the ONNX IR's (docs/IR.md,
 * onnx.proto); fields morpho never uses are left out, which the wire format allows. Enums are
 * plain integers here (ONNX's TensorProto.DataType and AttributeProto.AttributeType values).
 *
 * protobufjs is loaded on first use only: every command module is imported at start-up. (A
 * dynamic import, not createRequire, so that the single-executable bundle carries it.)
 */

const repeated = (type: string, id: number) => ({rule: 'repeated', type, id})
const one = (type: string, id: number) => ({type, id})

const SCHEMA = {
  nested: {
    onnx: {
      nested: {
        ModelProto: {
          fields: {
            irVersion: one('int64', 1),
            producerName: one('string', 2),
            producerVersion: one('string', 3),
            domain: one('string', 4),
            modelVersion: one('int64', 5),
            docString: one('string', 6),
            graph: one('GraphProto', 7),
            opsetImport: repeated('OperatorSetIdProto', 8),
            metadataProps: repeated('StringStringEntryProto', 14),
          },
        },
        OperatorSetIdProto: {fields: {domain: one('string', 1), version: one('int64', 2)}},
        StringStringEntryProto: {fields: {key: one('string', 1), value: one('string', 2)}},
        GraphProto: {
          fields: {
            node: repeated('NodeProto', 1),
            name: one('string', 2),
            initializer: repeated('TensorProto', 5),
            docString: one('string', 10),
            input: repeated('ValueInfoProto', 11),
            output: repeated('ValueInfoProto', 12),
          },
        },
        NodeProto: {
          fields: {
            input: repeated('string', 1),
            output: repeated('string', 2),
            name: one('string', 3),
            opType: one('string', 4),
            attribute: repeated('AttributeProto', 5),
            domain: one('string', 7),
          },
        },
        AttributeProto: {
          fields: {
            name: one('string', 1),
            f: one('float', 2),
            i: one('int64', 3),
            ints: repeated('int64', 8),
            type: one('int32', 20),
          },
        },
        TensorProto: {
          fields: {
            dims: repeated('int64', 1),
            dataType: one('int32', 2),
            stringData: repeated('bytes', 6),
            name: one('string', 8),
            rawData: one('bytes', 9),
          },
        },
        ValueInfoProto: {fields: {name: one('string', 1), type: one('TypeProto', 2)}},
        TypeProto: {fields: {tensorType: one('TensorTypeProto', 1)}},
        TensorTypeProto: {fields: {elemType: one('int32', 1), shape: one('TensorShapeProto', 2)}},
        TensorShapeProto: {fields: {dim: repeated('Dimension', 1)}},
        Dimension: {fields: {dimValue: one('int64', 1), dimParam: one('string', 2)}},
      },
    },
  },
}

/** TensorProto.DataType values. */
export const ONNX_FLOAT = 1
export const ONNX_INT64 = 7
export const ONNX_STRING = 8
/** AttributeProto.AttributeType values. */
export const ATTR_FLOAT = 1
export const ATTR_INT = 2
export const ATTR_INTS = 7

export interface OnnxDim {
  dimValue?: number
  dimParam?: string
}
export interface OnnxValueInfo {
  name: string
  type: {tensorType: {elemType: number; shape: {dim: OnnxDim[]}}}
}
export interface OnnxTensor {
  name: string
  dataType: number
  dims: number[]
  /** Numeric tensors: the values, little-endian. */
  rawData?: Uint8Array
  /** String tensors: each element's UTF-8 bytes. */
  stringData?: Uint8Array[]
}
export interface OnnxAttribute {
  name: string
  type: number
  f?: number
  i?: number
  ints?: number[]
}
export interface OnnxNode {
  name: string
  opType: string
  input: string[]
  output: string[]
  attribute?: OnnxAttribute[]
  domain?: string
}
export interface OnnxModel {
  irVersion: number
  producerName: string
  producerVersion: string
  domain?: string
  modelVersion?: number
  docString?: string
  opsetImport: {domain: string; version: number}[]
  metadataProps: {key: string; value: string}[]
  graph: {
    name: string
    docString?: string
    node: OnnxNode[]
    initializer: OnnxTensor[]
    input: OnnxValueInfo[]
    output: OnnxValueInfo[]
  }
}

let modelType: Promise<Protobuf.Type> | undefined

function model(): Promise<Protobuf.Type> {
  // A CommonJS package: its exports are the ESM namespace's default.
  modelType ??= import('protobufjs/light.js').then(({default: protobuf}) =>
    protobuf.Root.fromJSON(SCHEMA).lookupType('onnx.ModelProto'),
  )
  return modelType
}

export async function encodeOnnx(value: OnnxModel): Promise<Uint8Array> {
  const type = await model()
  return type.encode(type.fromObject(value)).finish()
}

/** Decodes an ONNX file's bytes; throws protobufjs's error on bytes that are not one. */
export async function decodeOnnx(bytes: Uint8Array): Promise<OnnxModel> {
  const type = await model()
  return type.toObject(type.decode(bytes), {longs: Number, arrays: true}) as OnnxModel
}
