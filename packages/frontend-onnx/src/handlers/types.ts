import type { NodeContext, Sym } from '../context.js';

/**
 * A handler maps one ONNX node to IR. It returns one Sym per ONNX output (null for an output it
 * does not produce: using one later is an import error). Handlers are named exactly after the
 * ONNX op type they handle.
 */
export type OnnxHandler = (ctx: NodeContext) => (Sym | null)[];
export type HandlerTable = Record<string, OnnxHandler>;
