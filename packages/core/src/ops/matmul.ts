/** Batched matrix multiply with optional transposed operands and numpy batch broadcasting. */
import { PockError } from '../errors.js';
import type { TypeInfo } from '../ir/graph.js';
import { broadcastShapes, fmtShape, size } from '../shape.js';
import { requireFloat, sameDtype } from './checks.js';
import { movedBytes } from './cost.js';
import { defineOp, type OpDef } from './op-def.js';

export interface MatmulAttrs extends Record<string, boolean> {
  transA: boolean;
  transB: boolean;
}

/** m, k, n and the broadcast batch shape of a matmul. */
export function matmulDims(a: readonly number[], b: readonly number[], attrs: MatmulAttrs) {
  const ra = a.length;
  const rb = b.length;
  const m = attrs.transA ? a[ra - 1]! : a[ra - 2]!;
  const ka = attrs.transA ? a[ra - 2]! : a[ra - 1]!;
  const kb = attrs.transB ? b[rb - 1]! : b[rb - 2]!;
  const n = attrs.transB ? b[rb - 2]! : b[rb - 1]!;
  return { m, k: ka, kb, n, batch: broadcastShapes(a.slice(0, -2), b.slice(0, -2)) };
}

export interface MatmulOpsAttrs {
  matmul: MatmulAttrs;
}

export const matmulOps: { [K in keyof MatmulOpsAttrs]: OpDef<MatmulOpsAttrs[K]> } = {
  matmul: defineOp<MatmulAttrs>({
    name: 'matmul',
    arity: [2, 2],
    infer: (inputs, attrs, where) => {
      const [a, b] = inputs as [TypeInfo, TypeInfo];
      const dtype = sameDtype(inputs, where);
      requireFloat(a, 'operand', where);
      if (a.shape.length < 2 || b.shape.length < 2)
        throw new PockError('shape', `operands must have rank >= 2 (got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}); reshape vectors first`, where);
      const d = matmulDims(a.shape, b.shape, attrs);
      if (d.k !== d.kb)
        throw new PockError('shape', `inner dimensions differ: ${fmtShape(a.shape)}${attrs.transA ? 'ᵀ' : ''} x ${fmtShape(b.shape)}${attrs.transB ? 'ᵀ' : ''}`, where);
      broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2), where);
      return [{ dtype, shape: [...d.batch, d.m, d.n] }];
    },
    vjp: (b, { inputs: [x, y], attrs: { transA, transB }, needs }, [g]) => {
      let ga: number | null = null;
      let gb: number | null = null;
      if (needs[0]) {
        ga = !transA
          ? transB ? b.matmul(g!, y!, false, false) : b.matmul(g!, y!, false, true)
          : transB ? b.matmul(y!, g!, true, true) : b.matmul(y!, g!, false, true);
        ga = b.sumToShape(ga, b.shape(x!));
      }
      if (needs[1]) {
        gb = !transB
          ? transA ? b.matmul(x!, g!, false, false) : b.matmul(x!, g!, true, false)
          : transA ? b.matmul(g!, x!, true, true) : b.matmul(g!, x!, true, false);
        gb = b.sumToShape(gb, b.shape(y!));
      }
      return [ga, gb];
    },
    cost: (inputs, outputs, attrs) => {
      const d = matmulDims(inputs[0]!.shape, inputs[1]!.shape, attrs);
      return { flops: 2 * size(d.batch) * d.m * d.n * d.k, bytes: movedBytes(inputs, outputs) };
    },
  }),
};
