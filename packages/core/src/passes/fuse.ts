/**
 * Operator fusion (PockEngine §3.3): conv2d followed by relu or relu6 becomes one conv2d with a
 * fused activation, which backends apply in their output epilogue (one pass over memory
 * instead of two, and no pre-activation tensor). Runs after autodiff, on convs whose output
 * nothing else reads — e.g. every conv below the lowest trained layer.
 */
import { Rewrite, producers, useCounts } from '../ir/edit.js';
import type { Graph } from '../ir/graph.js';
import type { ConvAttrs } from '../ops/conv.js';

export function fuseConvActivation(g: Graph): Graph {
  const uses = useCounts(g);
  const prod = producers(g);
  const rw = new Rewrite(g);
  g.nodes.forEach((act, index) => {
    let kind: 'relu' | 'relu6' | null = null;
    if (act.op === 'relu') kind = 'relu';
    else if (act.op === 'clip') {
      const { min, max } = act.attrs as { min: number | null; max: number | null };
      if (min === 0 && max === 6) kind = 'relu6';
      else if (min === 0 && max === null) kind = 'relu';
    }
    if (!kind) return;
    const conv = prod.get(act.inputs[0]!);
    if (!conv || conv.op !== 'conv2d' || (conv.attrs as ConvAttrs).activation || uses.get(act.inputs[0]!) !== 1) return;
    const fused = rw.at(index, () => rw.b.scoped(conv.name, () => rw.b.op1('conv2d', conv.inputs, { ...(conv.attrs as ConvAttrs), activation: kind })));
    rw.drop(conv, act);
    rw.redirect(act.outputs[0]!, fused);
  });
  return rw.finish();
}
