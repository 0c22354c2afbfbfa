/**
 * The optimizer update as a GEMM epilogue: plain SGD (no momentum, no weight decay, whole
 * tensor) of a parameter whose gradient is one 2-D matmul read by nothing else becomes
 * matmul_sgd_update(param, a, b, lr, step) = param - lr * op(a) op(b), accumulated straight into
 * the parameter. The weight gradient is never stored and never read back: one pass over the
 * weight instead of three (write dW, read dW, read-modify-write W). Runs after reorderUpdates;
 * the fused node takes the update's place, after every reader of the old weight.
 */
import { Rewrite, producers, useCounts } from '../ir/edit.js';
import type { Graph } from '../ir/graph.js';
import type { MatmulAttrs } from '../ops/matmul.js';
import type { SgdAttrs } from '../ops/optim.js';

export function fuseMatmulUpdates(g: Graph): Graph {
  const uses = useCounts(g);
  const prod = producers(g);
  const rw = new Rewrite(g);
  g.nodes.forEach((u, index) => {
    if (u.op !== 'sgd_update') return;
    const a = u.attrs as SgdAttrs;
    if (a.momentum !== 0 || a.weightDecay !== 0 || a.rows !== null) return;
    const [p, grad, lr, step] = u.inputs as [number, number, number, number];
    const mm = prod.get(grad);
    if (!mm || mm.op !== 'matmul' || uses.get(grad) !== 1) return;
    const [x, y] = mm.inputs as [number, number];
    const rank = (v: number) => g.values[v]!.shape.length;
    if (rank(x) !== 2 || rank(y) !== 2 || rank(p) !== 2) return;
    if (g.values[x]!.dtype !== g.values[p]!.dtype || g.values[y]!.dtype !== g.values[p]!.dtype) return;
    const out = rw.at(index, () => rw.b.scoped(u.name, () => rw.b.op1('matmul_sgd_update', [p, x, y, lr, step], { ...(mm.attrs as MatmulAttrs) })));
    rw.drop(u, mm);
    rw.redirect(u.outputs[0]!, out);
  });
  return rw.finish();
}
