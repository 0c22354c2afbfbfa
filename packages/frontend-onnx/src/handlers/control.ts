/**
 * If (https://onnx.ai/onnx/operators/onnx__If.html) whose condition is known at import time:
 * exporters emit these for shape checks (PyTorch's LocalResponseNorm squeezes an axis only "if
 * its size is 1"), and with static shapes the condition folds. The chosen branch is imported
 * inline; the other is never mapped. A condition computed from data at run time is
 * data-dependent control flow, which a static training program cannot express.
 */
import type { NodeContext, Sym } from '../context.js';
import type { HandlerTable } from './types.js';

function ifNode(ctx: NodeContext): Sym[] {
  const cond = ctx.maybeConst(0);
  if (!cond)
    return ctx.fail('the condition is computed at run time (data-dependent control flow); only conditions known at import time (shape checks) are supported', 'unsupported-op');
  if (cond.data.length !== 1) ctx.fail(`the condition must be one value, got ${cond.data.length}`, 'shape');
  const branch = Number(cond.data[0]) !== 0 ? 'then_branch' : 'else_branch';
  const g = ctx.graphAttr(branch) ?? ctx.fail(`attribute ${branch} is missing`);
  const outs = ctx.importState.inlineGraph(g, `${ctx.name}/${branch}/`);
  if (outs.length !== ctx.node.outputs.length) ctx.fail(`${branch} has ${outs.length} outputs, the node ${ctx.node.outputs.length}`);
  return outs;
}

export const controlHandlers: HandlerTable = { If: ifNode };
