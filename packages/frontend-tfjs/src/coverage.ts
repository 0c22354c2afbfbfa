/** The frontend's coverage table: every TF.js layer class, activation name and GraphDef op it imports. */
import { SUPPORTED_GRAPH_OPS } from './graph/handlers/index.js';
import { SUPPORTED_ACTIVATIONS, SUPPORTED_LAYERS } from './layers/handlers/index.js';

export const SUPPORTED = {
  /** LayersModel layer classes (`class_name`). */
  layers: SUPPORTED_LAYERS,
  /** Values of the `activation` config (compared lower-case without underscores). */
  activations: SUPPORTED_ACTIVATIONS,
  /** GraphModel op names. */
  graphOps: SUPPORTED_GRAPH_OPS,
  /** Weight manifest dtypes and quantizations decoded on load. */
  weights: ['float32', 'int32', 'bool', 'uint8 quantized', 'uint16 quantized', 'float16 quantized'],
} as const;
