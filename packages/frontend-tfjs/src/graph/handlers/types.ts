import type { OpContext, Sym } from '../context.js';

/**
 * A handler maps one GraphDef node to IR (or folds it on the host) and returns one Sym per node
 * output it provides. Handlers are named exactly after the TF op they handle.
 */
export type OpHandler = (ctx: OpContext) => Sym[];
export type OpHandlerTable = Record<string, OpHandler>;
