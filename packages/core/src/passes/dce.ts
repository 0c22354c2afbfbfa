import type { Graph, ValueId } from '../ir/graph.js';

/**
 * Dead-code elimination: keeps only nodes whose outputs reach a graph output or an update,
 * and drops data of values nothing uses. Value ids are kept stable.
 */
export function dce(g: Graph): Graph {
  const live = new Set<ValueId>();
  for (const o of g.outputs) live.add(o.value);
  for (const u of g.updates) {
    live.add(u.value);
    live.add(u.target);
  }
  const kept: (typeof g.nodes)[number][] = [];
  for (let k = g.nodes.length - 1; k >= 0; k--) {
    const n = g.nodes[k]!;
    if (!n.outputs.some((o) => live.has(o))) continue;
    kept.push(n);
    for (const i of n.inputs) live.add(i);
  }
  kept.reverse();
  const init = new Map([...g.init].filter(([id]) => live.has(id) || g.values[id]!.role === 'param' || g.values[id]!.role === 'buffer'));
  return { ...g, nodes: kept, init };
}
