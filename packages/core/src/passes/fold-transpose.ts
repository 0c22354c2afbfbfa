/**
 * Transposes folded into matmul operands (as BLAS's op flags and XLA's dot dimension numbers):
 * matmul(transpose(w, [..., r-1, r-2]), x) reads w with the other stride order instead, so the
 * transposed copy is never made. PyTorch's nn.Linear exports `MatMul(x, Transpose(W))`; with W
 * trained, the transpose would run on every step, and autodiff would add a second one to turn the
 * gradient back. Runs on the forward graph, before autodiff, so W's gradient comes out of a
 * single matmul in W's own layout. A transpose that something else also reads stays for it.
 */
import { Rewrite, producers } from '../ir/edit.js';
import type { Graph } from '../ir/graph.js';
import type { MatmulAttrs } from '../ops/matmul.js';
import { dce } from './dce.js';

/** perm keeps every axis but swaps the last two. */
function swapsLastTwo(perm: readonly number[]): boolean {
  const r = perm.length;
  return r >= 2 && perm[r - 1] === r - 2 && perm[r - 2] === r - 1 && perm.slice(0, -2).every((p, i) => p === i);
}

export function foldMatmulTransposes(g: Graph): Graph {
  const prod = producers(g);
  const rw = new Rewrite(g);
  g.nodes.forEach((n, index) => {
    if (n.op !== 'matmul') return;
    const attrs = n.attrs as MatmulAttrs;
    const inputs = [...n.inputs];
    const flags = [attrs.transA, attrs.transB];
    let folded = false;
    for (const i of [0, 1]) {
      const t = prod.get(inputs[i]!);
      if (!t || t.op !== 'transpose' || !swapsLastTwo(t.attrs.perm as number[])) continue;
      inputs[i] = t.inputs[0]!;
      flags[i] = !flags[i];
      folded = true;
    }
    if (!folded) return;
    const out = rw.at(index, () => rw.b.scoped(n.name, () => rw.b.op1('matmul', inputs, { transA: flags[0]!, transB: flags[1]! })));
    rw.drop(n);
    rw.redirect(n.outputs[0]!, out);
  });
  return rw.changed ? dce(rw.finish()) : g;
}
