/**
 * Operator fusion (PockEngine §3.3): conv2d (or inference-mode batch_norm) followed by relu or
 * relu6 becomes one op with a fused activation, which backends apply in their output epilogue (one pass over memory
 * instead of two, and no pre-activation tensor). Runs after autodiff, on convs whose output
 * nothing else reads — e.g. every conv below the lowest trained layer.
 */
import { Rewrite, producers, useCounts } from '../ir/edit.js';
import type { Graph } from '../ir/graph.js';
import type { ConvAttrs } from '../ops/conv.js';
import type { BatchNormAttrs } from '../ops/norm.js';

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
    if (!conv || uses.get(act.inputs[0]!) !== 1 || conv.outputs.length !== 1) return;
    let fused: number;
    if (conv.op === 'conv2d' && !(conv.attrs as ConvAttrs).activation)
      fused = rw.at(index, () => rw.b.scoped(conv.name, () => rw.b.op1('conv2d', conv.inputs, { ...(conv.attrs as ConvAttrs), activation: kind })));
    else if (conv.op === 'batch_norm' && !(conv.attrs as BatchNormAttrs).training && !(conv.attrs as BatchNormAttrs).activation)
      fused = rw.at(index, () => rw.b.scoped(conv.name, () => rw.b.op1('batch_norm', conv.inputs, { ...(conv.attrs as BatchNormAttrs), activation: kind })));
    else return;
    rw.drop(conv, act);
    rw.redirect(act.outputs[0]!, fused);
  });
  return rw.finish();
}
