import type { Graph, Node, ValueId } from '../ir/graph.js';
import { nodePhase } from '../plan/memory.js';

/**
 * Operator reordering (PockEngine §3.3): each optimizer update runs as soon as its gradient is
 * complete, instead of after the whole backward pass, so the gradient buffer dies at once.
 * An update waits for every other reader of the parameter it replaces (a layer's input
 * gradient needs the old weight), which also makes the update safe to do in place.
 */
export function reorderUpdates(g: Graph): Graph {
  const isUpdate = (n: Node) => nodePhase(n.name) === 'update';
  const pending = g.nodes.filter(isUpdate);
  if (pending.length === 0) return g;
  const rest = g.nodes.filter((n) => !isUpdate(n));

  // the persistent values each update node replaces
  const targetsOf = new Map<Node, ValueId[]>();
  const valueToTarget = new Map(g.updates.map((u) => [u.value, u.target]));
  for (const n of pending) targetsOf.set(n, n.outputs.map((o) => valueToTarget.get(o)).filter((t): t is ValueId => t !== undefined));
  // readers of each target still to run
  const readersLeft = new Map<ValueId, number>();
  for (const n of g.nodes) for (const i of new Set(n.inputs)) readersLeft.set(i, (readersLeft.get(i) ?? 0) + 1);

  const defined = new Set<ValueId>(g.values.filter((v) => v.role !== 'node').map((v) => v.id));
  const order: Node[] = [];
  const emit = (n: Node) => {
    order.push(n);
    n.outputs.forEach((o) => defined.add(o));
    for (const i of new Set(n.inputs)) readersLeft.set(i, readersLeft.get(i)! - 1);
  };
  const flush = () => {
    for (let progress = true; progress; ) {
      progress = false;
      for (let k = 0; k < pending.length; k++) {
        const u = pending[k]!;
        const own = (t: ValueId) => (u.inputs.includes(t) ? 1 : 0);
        const ready = u.inputs.every((i) => defined.has(i)) && targetsOf.get(u)!.every((t) => readersLeft.get(t)! - own(t) === 0);
        if (ready) {
          emit(u);
          pending.splice(k--, 1);
          progress = true;
        }
      }
    }
  };
  flush();
  for (const n of rest) {
    emit(n);
    flush();
  }
  order.push(...pending); // unreachable for a valid graph; keeps every node
  return { ...g, nodes: order };
}
