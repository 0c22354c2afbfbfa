/** MatMul (numpy matmul semantics, https://onnx.ai/onnx/operators/onnx__MatMul.html) and Gemm. */
import { size, type ValueId } from '@pockengine/core';
import type { HandlerTable } from './types.js';
import { operands } from './elementwise.js';

export const matmulHandlers: HandlerTable = {
  /**
   * Rank-1 operands get a unit dim (prepended for A, appended for B) that is removed from the
   * result, as numpy. A rank >= 3 input times a 2-D weight runs as one 2-D matmul over the
   * flattened rows (what nn.Linear computes), so the weight gradient needs no batch reduction.
   */
  MatMul: (ctx) => {
    const b = ctx.b;
    const [a0, w0] = operands(ctx, 0, 1);
    const as = b.shape(a0);
    const ws = b.shape(w0);
    if (as.length === 0 || ws.length === 0) ctx.fail('MatMul operands must have rank >= 1', 'shape');
    const a = as.length === 1 ? b.reshape(a0, [1, as[0]!]) : a0;
    const w = ws.length === 1 ? b.reshape(w0, [ws[0]!, 1]) : w0;
    const sa = b.shape(a);
    const sw = b.shape(w);
    let y: ValueId;
    let outShape: number[];
    if (sa.length > 2 && sw.length === 2) {
      const rows = size(sa.slice(0, -1));
      const y2 = b.matmul(b.reshape(a, [rows, sa[sa.length - 1]!]), w);
      outShape = [...sa.slice(0, -1), sw[1]!];
      y = b.reshape(y2, outShape);
    } else {
      y = b.matmul(a, w);
      outShape = [...b.shape(y)];
    }
    if (as.length === 1) outShape.splice(outShape.length - 2, 1);
    if (ws.length === 1) outShape.splice(outShape.length - 1, 1);
    return [b.reshape(y, outShape)];
  },
  /** Gemm: Y = alpha * A' B' + beta * C with A' = transA ? A^T : A (https://onnx.ai/onnx/operators/onnx__Gemm.html). */
  Gemm: (ctx) => {
    const b = ctx.b;
    const [a, w] = operands(ctx, 0, 1);
    if (b.rank(a) !== 2 || b.rank(w) !== 2) ctx.fail(`A and B must be 2-D, got ranks ${b.rank(a)} and ${b.rank(w)}`, 'shape');
    const alpha = ctx.float('alpha', 1);
    const beta = ctx.float('beta', 1);
    let y = b.matmul(a, w, ctx.int('transA', 0) === 1, ctx.int('transB', 0) === 1);
    if (alpha !== 1) y = b.mulScalar(y, alpha);
    if (ctx.has(2) && beta !== 0) {
      let c = ctx.valueAs(2, b.dtype(y));
      if (beta !== 1) c = b.mulScalar(c, beta);
      y = b.add(y, c);
    }
    return [y];
  },
};
