/**
 * Folds a frozen (inference-mode) BatchNorm into the convolution before it (PockEngine §3.3,
 * "frozen BN is folded"): y = BN(conv(x, W) + b) = conv(x, W * s) + (b - mean) * s + beta with
 * s = scale / sqrt(var + eps) per output channel. Done at compile time when the conv's weight
 * and bias, the BN scale and statistics are all frozen; a trained BN shift (bias-only
 * fine-tuning) stays trainable: it is added to the folded bias of the conv.
 */
import { Rewrite, producers, useCounts } from '../ir/edit.js';
import type { Graph, ValueId } from '../ir/graph.js';
import { tensor } from '../tensor.js';

export function foldFrozenBatchNorm(g: Graph, frozen: ReadonlySet<ValueId>): Graph {
  const uses = useCounts(g);
  const prod = producers(g);
  const isFixed = (v: ValueId) => {
    const r = g.values[v]!.role;
    return r === 'const' || r === 'buffer' || (r === 'param' && frozen.has(v));
  };
  const rw = new Rewrite(g);
  const b = rw.b;
  g.nodes.forEach((bn, index) => {
    if (bn.op !== 'batch_norm' || (bn.attrs as { training: boolean }).training) return;
    const [y, scale, shift, mean, vr] = bn.inputs as [ValueId, ValueId, ValueId, ValueId, ValueId];
    const conv = prod.get(y);
    if (!conv || conv.op !== 'conv2d' || uses.get(y) !== 1 || rw.dropped(conv)) return;
    if (![conv.inputs[1]!, ...(conv.inputs[2] !== undefined ? [conv.inputs[2]] : []), scale, mean, vr].every(isFixed)) return;
    const data = (v: ValueId) => g.init.get(v)!.data as ArrayLike<number>;
    const w = g.values[conv.inputs[1]!]!;
    const out = w.shape[0]!;
    const per = w.shape.slice(1).reduce((p, d) => p * d, 1);
    const eps = (bn.attrs as { epsilon: number }).epsilon;
    const s = Array.from({ length: out }, (_, o) => data(scale)[o]! / Math.sqrt(data(vr)[o]! + eps));
    const wd = data(conv.inputs[1]!);
    const wf = new Float64Array(out * per);
    for (let o = 0; o < out; o++) for (let j = 0; j < per; j++) wf[o * per + j] = wd[o * per + j]! * s[o]!;
    const bias = conv.inputs[2] !== undefined ? data(conv.inputs[2]) : null;
    const shiftFixed = isFixed(shift);
    const bf = Array.from({ length: out }, (_, o) => ((bias ? bias[o]! : 0) - data(mean)[o]!) * s[o]! + (shiftFixed ? data(shift)[o]! : 0));
    const folded = rw.at(index, () => b.scoped(conv.name, () => {
      const wv = b.constant(tensor(w.dtype, w.shape, wf), `${w.name}*bn`);
      const bv = b.constant(tensor(w.dtype, [out], bf), `${bn.name}.folded_bias`);
      // a trained shift joins the folded bias (a [C] add per step), so the conv stays one op
      // whose output can still take a fused activation
      const bias = shiftFixed ? bv : b.scoped(bn.name, () => b.add(bv, shift));
      const r = b.op1('conv2d', [conv.inputs[0]!, wv, bias], conv.attrs as never);
      return r;
    }));
    rw.drop(conv, bn);
    rw.redirect(bn.outputs[0]!, folded);
  });
  return rw.finish();
}
