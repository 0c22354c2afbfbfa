/**
 * The handler table: one handler per ONNX op type of the default domain, named exactly after it,
 * grouped by family. Ops the constant evaluator knows but that have no IR mapping (Floor, Mod,
 * ReduceProd...) are accepted when their inputs are constants and fail at the node otherwise.
 */
import { CONST_EVAL } from '../fold.js';
import { activationHandlers } from './activation.js';
import { controlHandlers } from './control.js';
import { convHandlers } from './conv.js';
import { einsumHandlers } from './einsum.js';
import { elementwiseHandlers } from './elementwise.js';
import { gridSampleHandlers } from './grid-sample.js';
import { indexingHandlers } from './indexing.js';
import { matmulHandlers } from './matmul.js';
import { quantizeHandlers } from './quantize.js';
import { normHandlers } from './norm.js';
import { reduceHandlers } from './reduce.js';
import { resizeHandlers } from './resize.js';
import { rnnHandlers } from './rnn.js';
import { constantOnlyHandler, shapeHandlers } from './shape.js';
import type { HandlerTable, OnnxHandler } from './types.js';

const COMPUTE: HandlerTable = {
  ...elementwiseHandlers,
  ...activationHandlers,
  ...matmulHandlers,
  ...convHandlers,
  ...normHandlers,
  ...reduceHandlers,
  ...rnnHandlers,
  ...resizeHandlers,
  ...einsumHandlers,
  ...controlHandlers,
  ...shapeHandlers,
  ...indexingHandlers,
  ...gridSampleHandlers,
  ...quantizeHandlers,
};

export const HANDLERS: Readonly<Record<string, OnnxHandler>> = {
  ...Object.fromEntries(Object.keys(CONST_EVAL).map((op) => [op, constantOnlyHandler])),
  ...COMPUTE,
};

export interface OpCoverage {
  /** ONNX op type (default domain). */
  op: string;
  /** Whether the op maps to IR when its inputs are computed (false: constant inputs only). */
  compute: boolean;
  /** Whether the constant evaluator folds it when all inputs are known at import time. */
  folds: boolean;
}

/** Coverage table of the ONNX frontend, sorted by op type. */
export const SUPPORTED_OPS: readonly OpCoverage[] = Object.keys(HANDLERS)
  .sort()
  .map((op) => ({ op, compute: op in COMPUTE && HANDLERS[op] !== constantOnlyHandler, folds: op in CONST_EVAL }));

export type { OnnxHandler, HandlerTable };
