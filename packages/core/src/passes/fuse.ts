/**
 * Operator fusion (PockEngine §3.3): conv2d followed by relu or relu6 becomes one conv2d with a
 * fused activation, which backends apply in their output epilogue (one pass over memory
 * instead of two, and no pre-activation tensor). Runs after autodiff, on convs whose output
 * nothing else reads — in sparse training that is every conv below the lowest trained layer.
 */
import { GraphBuilder } from '../ir/builder.js';
import { producers, splice, useCounts } from '../ir/edit.js';
import type { Graph, ValueId } from '../ir/graph.js';
import type { ConvAttrs } from '../ops/conv.js';

export function fuseConvActivation(g: Graph): Graph {
  const uses = useCounts(g);
  const prod = producers(g);
  const b = new GraphBuilder(g.name, g);
  const remove = new Set<number>();
  const replace = new Map<ValueId, ValueId>();
  const anchor = new Map<number, number>();
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
    const first = b.nextNodeIdPeek;
    const fused = b.scoped(conv.name, () => b.op1('conv2d', conv.inputs, { ...(conv.attrs as ConvAttrs), activation: kind }));
    for (let id = first; id < b.nextNodeIdPeek; id++) anchor.set(id, index);
    remove.add(conv.id);
    remove.add(act.id);
    replace.set(act.outputs[0]!, fused);
  });
  if (!remove.size) return g;
  return splice(b.build(), { remove, replace, anchor });
}
