/**
 * Einsum (https://onnx.ai/onnx/operators/onnx__Einsum.html): core's einsum lowering (transposes,
 * reshapes, sums and batched matmuls; core/src/nn/einsum.ts) over the node's float operands.
 */
import { einsum as lowerEinsum, type ValueId } from '@pockengine/core';
import type { NodeContext } from '../context.js';
import type { HandlerTable } from './types.js';

function einsum(ctx: NodeContext): ValueId[] {
  const b = ctx.b;
  const equation = ctx.string('equation', '');
  if (!equation) ctx.fail('attribute equation is required');
  const dtype = b.dtype(ctx.value(0));
  if (dtype !== 'float32' && dtype !== 'float64') ctx.fail(`only float operands are supported, got ${dtype}`, 'dtype');
  const values = Array.from({ length: ctx.inputCount }, (_, i) => ctx.valueAs(i, dtype));
  return [lowerEinsum(b, equation, values, ctx.where)];
}

export const einsumHandlers: HandlerTable = { Einsum: einsum };
