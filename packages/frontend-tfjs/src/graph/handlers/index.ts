/**
 * The GraphDef op handler table: one handler per TF op name (as in the GraphDef and
 * tfjs-converter's op lists), grouped by family. Placeholder and Const are handled by the
 * importer itself; NoOp nodes only carry control dependencies and are skipped.
 */
import { indexingHandlers } from './indexing.js';
import { mathHandlers } from './math.js';
import { nnHandlers } from './nn.js';
import { resizeHandlers } from './resize.js';
import { shapeHandlers } from './shape.js';
import type { OpHandler, OpHandlerTable } from './types.js';

export const GRAPH_OP_HANDLERS: Readonly<OpHandlerTable> = {
  ...mathHandlers,
  ...indexingHandlers,
  ...nnHandlers,
  ...resizeHandlers,
  ...shapeHandlers,
};

/** Ops the importer handles without a handler. */
export const GRAPH_BUILTIN_OPS = ['Placeholder', 'Const', 'NoOp'] as const;

/** Coverage of the graph-model importer: every TF op name it accepts. */
export const SUPPORTED_GRAPH_OPS: readonly string[] = [...GRAPH_BUILTIN_OPS, ...Object.keys(GRAPH_OP_HANDLERS)].sort();

export type { OpHandler, OpHandlerTable };
