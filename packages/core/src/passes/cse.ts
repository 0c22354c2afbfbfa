import type { Graph, Node, ValueId } from '../ir/graph.js';
import { splice } from '../ir/edit.js';

/**
 * Common-subexpression elimination: small constants with equal data are merged, then nodes
 * with the same op, attributes and (merged) inputs compute the same values, so later ones are
 * dropped and their uses redirected. (Gradient rules emit many identical scalars and repeated
 * reshapes; this is where they collapse.)
 */
export function cse(g: Graph): Graph {
  const replace = new Map<ValueId, ValueId>();
  const constKey = new Map<string, ValueId>();
  for (const v of g.values) {
    if (v.role !== 'const') continue;
    const t = g.init.get(v.id);
    if (!t || t.data.length > 16) continue;
    const key = `${v.dtype}[${v.shape.join(',')}]=${Array.from(t.data as ArrayLike<number | bigint>, String).join(',')}`;
    const prev = constKey.get(key);
    if (prev === undefined) constKey.set(key, v.id);
    else replace.set(v.id, prev);
  }
  const resolve = (v: ValueId) => replace.get(v) ?? v;
  const seen = new Map<string, Node>();
  const remove = new Set<number>();
  for (const n of g.nodes) {
    const key = `${n.op}(${n.inputs.map(resolve).join(',')})${JSON.stringify(n.attrs)}`;
    const prev = seen.get(key);
    if (prev) {
      remove.add(n.id);
      n.outputs.forEach((o, i) => replace.set(o, prev.outputs[i]!));
    } else seen.set(key, n);
  }
  if (replace.size === 0) return g;
  return splice(g, { remove, replace });
}
