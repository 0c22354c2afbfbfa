/**
 * Graph surgery for passes: nodes appended by a GraphBuilder (on a base graph) replace removed
 * ones, uses of replaced values are redirected, and the node list is re-sorted topologically.
 * Each new node is placed where its `anchor` (an index in the old order) says, so rewrites
 * keep the schedule that earlier passes chose.
 */
import { PockError } from '../errors.js';
import { GraphBuilder } from './builder.js';
import type { Graph, Node, ValueId } from './graph.js';

export interface Splice {
  /** Ids of nodes to drop. */
  remove: ReadonlySet<number>;
  /** Uses of key are redirected to value. */
  replace: ReadonlyMap<ValueId, ValueId>;
  /** Sort key of appended nodes (position in the old node list); default: after everything. */
  anchor?: ReadonlyMap<number, number>;
}

export function splice(g: Graph, s: Splice): Graph {
  const resolve = (v: ValueId): ValueId => {
    let r = v;
    for (let k = 0; s.replace.has(r); k++) {
      r = s.replace.get(r)!;
      if (k > 1000) throw new PockError('internal', 'cyclic value replacement');
    }
    return r;
  };
  const kept: { node: Node; key: number }[] = [];
  g.nodes.forEach((n, i) => {
    if (s.remove.has(n.id)) return;
    const key = s.anchor?.get(n.id) ?? i;
    kept.push({ node: { ...n, inputs: n.inputs.map(resolve) }, key });
  });
  return {
    ...g,
    nodes: topoSort(g, kept),
    outputs: g.outputs.map((o) => ({ ...o, value: resolve(o.value) })),
    updates: g.updates.map((u) => ({ ...u, value: resolve(u.value) })),
  };
}

/** Kahn's algorithm, always taking the ready node with the smallest key (stable). */
function topoSort(g: Graph, items: { node: Node; key: number }[]): Node[] {
  const producer = new Map<ValueId, number>();
  items.forEach((it, i) => it.node.outputs.forEach((o) => producer.set(o, i)));
  const waiting = items.map((it) => new Set(it.node.inputs.filter((v) => producer.has(v)).map((v) => producer.get(v)!)));
  const consumers = items.map(() => [] as number[]);
  waiting.forEach((deps, i) => deps.forEach((d) => consumers[d]!.push(i)));
  const ready = items.map((_, i) => i).filter((i) => waiting[i]!.size === 0);
  const order: Node[] = [];
  const cmp = (a: number, b: number) => items[a]!.key - items[b]!.key || a - b;
  ready.sort(cmp);
  while (ready.length) {
    const i = ready.shift()!;
    order.push(items[i]!.node);
    for (const c of consumers[i]!) {
      waiting[c]!.delete(i);
      if (waiting[c]!.size === 0) {
        // insert keeping `ready` sorted
        let lo = 0;
        let hi = ready.length;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (cmp(ready[mid]!, c) < 0) lo = mid + 1;
          else hi = mid;
        }
        ready.splice(lo, 0, c);
      }
    }
  }
  if (order.length !== items.length) throw new PockError('internal', `graph '${g.name}' has a cycle after rewriting`);
  return order;
}

/** Number of nodes reading each value, plus graph outputs and updates. */
export function useCounts(g: Graph): Map<ValueId, number> {
  const uses = new Map<ValueId, number>();
  const bump = (v: ValueId) => uses.set(v, (uses.get(v) ?? 0) + 1);
  for (const n of g.nodes) n.inputs.forEach(bump);
  for (const o of g.outputs) bump(o.value);
  for (const u of g.updates) bump(u.value);
  return uses;
}

/** Producer node of each value. */
export function producers(g: Graph): Map<ValueId, Node> {
  const m = new Map<ValueId, Node>();
  for (const n of g.nodes) for (const o of n.outputs) m.set(o, n);
  return m;
}

/**
 * A rewrite in progress: new nodes are emitted through `b` at a position of the old schedule
 * (`at`), replaced nodes are dropped and their outputs redirected; `finish` splices it all.
 */
export class Rewrite {
  readonly b: GraphBuilder;
  private readonly g: Graph;
  private readonly remove = new Set<number>();
  private readonly replace = new Map<ValueId, ValueId>();
  private readonly anchor = new Map<number, number>();

  constructor(g: Graph) {
    this.g = g;
    this.b = new GraphBuilder(g.name, g);
  }

  /** Runs `emit`, placing the nodes it adds at `position` (an index in the old node list). */
  at<T>(position: number, emit: () => T): T {
    const first = this.b.nextNodeIdPeek;
    const r = emit();
    for (let id = first; id < this.b.nextNodeIdPeek; id++) this.anchor.set(id, position);
    return r;
  }

  drop(...nodes: readonly Node[]): void {
    for (const n of nodes) this.remove.add(n.id);
  }

  dropped(n: Node): boolean {
    return this.remove.has(n.id);
  }

  redirect(from: ValueId, to: ValueId): void {
    this.replace.set(from, to);
  }

  get changed(): boolean {
    return this.remove.size > 0 || this.replace.size > 0;
  }

  finish(): Graph {
    if (!this.changed) return this.g;
    return splice(this.b.build(), { remove: this.remove, replace: this.replace, anchor: this.anchor });
  }
}
