/**
 * Saved-activation compression (PockEngine §3.2): the backward of ReLU / clip (ReLU6) needs only
 * where the input was inside the linear range, not the input itself. This pass computes that
 * as a bool mask in the forward pass, right after the activation's input exists, and rewrites
 * relu_grad / clip_grad into a select on the mask, so the float activation dies with its last
 * forward use and only 1 byte per element (instead of 4) is kept for the backward pass.
 */
import { Rewrite, producers } from '../ir/edit.js';
import type { Graph, ValueId } from '../ir/graph.js';
import { nodePhase } from '../plan/memory.js';

export function activationMasks(g: Graph): Graph {
  const prod = producers(g);
  const consumers = new Map<ValueId, (typeof g.nodes)[number][]>();
  for (const n of g.nodes) for (const i of n.inputs) (consumers.get(i) ?? consumers.set(i, []).get(i)!).push(n);
  const index = new Map(g.nodes.map((n, i) => [n.id, i]));
  const rw = new Rewrite(g);
  const b = rw.b;
  const masks = new Map<string, ValueId>();
  for (const n of g.nodes) {
    if ((n.op !== 'relu_grad' && n.op !== 'clip_grad') || nodePhase(n.name) !== 'backward') continue;
    const [saved, dy] = n.inputs as [ValueId, ValueId];
    // read the activation's output where we can: then its input (a conv output) has no other
    // reader and the conv can take the activation into its epilogue (fuse.ts)
    const act = n.op === 'clip_grad' ? consumers.get(saved)?.find((c) => c.op === 'clip' && JSON.stringify(c.attrs) === JSON.stringify(n.attrs)) : undefined;
    const x = act ? act.outputs[0]! : saved;
    const p = prod.get(x);
    // only activations computed in the forward pass are worth compressing
    if (!p || nodePhase(p.name) !== 'forward') continue;
    const key = `${n.op}:${x}:${JSON.stringify(n.attrs)}:${act ? 'out' : 'in'}`;
    let mask = masks.get(key);
    if (mask === undefined) {
      // place the mask right after the activation's input is produced
      mask = rw.at(index.get(p.id)! + 0.5, () => b.scoped(p.name, () => {
        // relu_grad reads relu's output y: y > 0; clip_grad reads clip's input: min <= x <= max
        if (n.op === 'relu_grad') return b.op1('in_range', [x], { min: 0, max: null, strictMin: true });
        const { min, max } = n.attrs as { min: number | null; max: number | null };
        // from the output y = clip(x): min < y < max iff min < x < max — the gradient of
        // PyTorch's hardtanh / ReLU6 (strict bounds; it differs from clamp's only at x = min, max)
        if (act) return b.op1('in_range', [x], { min, max, strictMin: true, strictMax: true });
        return b.op1('in_range', [x], { min, max, strictMin: false });
      }));
      masks.set(key, mask);
    }
    const dx = rw.at(index.get(n.id)!, () => b.scoped(n.name, () => b.where(mask!, dy, b.scalarLike(0, dy))));
    rw.drop(n);
    rw.redirect(n.outputs[0]!, dx);
  }
  return rw.finish();
}
