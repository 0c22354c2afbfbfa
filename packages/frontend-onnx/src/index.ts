/**
 * @pockengine/frontend-onnx: ONNX models (PyTorch training exports, IR 7-10, opsets 13-21) into
 * PockEngine's IR, and trained weights back into ONNX / safetensors. Browser-safe; reading
 * files with external data lives in the './node' entry.
 */
export { importOnnx, decodeOnnx, MIN_OPSET, MAX_OPSET, type ImportedModel } from './import.js';
export type { ImportOptions } from './context.js';
export { exportOnnx, exportWeights, type ExportOptions } from './export.js';
export { SUPPORTED_OPS, HANDLERS, type OpCoverage, type OnnxHandler } from './handlers/index.js';
export { CONST_EVAL } from './fold.js';
export { decodeModel, type OnnxModel, type OnnxGraph, type OnnxNode, type OnnxAttribute, type OnnxTensor, type OnnxValueInfo } from './proto/onnx.js';
export { encodeModel, encodeTensor } from './proto/encode.js';
export { tensorFromProto, tensorToProto, OnnxType } from './tensor-proto.js';
