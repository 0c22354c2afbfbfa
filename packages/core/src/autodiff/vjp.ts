/**
 * Compile-time reverse-mode autodiff. Walks the forward graph backwards once and appends the
 * gradient computation, emitted by each op's vjp rule, to the same graph: the result is one
 * joint graph (forward + backward), as AOTAutograd builds, with no tape at run time.
 */
import { isFloat } from '../dtype.js';
import { PockError } from '../errors.js';
import { GraphBuilder } from '../ir/builder.js';
import type { Graph, ValueId } from '../ir/graph.js';
import { opDef } from '../ops/registry.js';
import { tensor } from '../tensor.js';
import { size } from '../shape.js';

export interface GradResult {
  graph: Graph;
  /** Gradient value of each requested value (absent when no path reaches the loss: zero). */
  grads: Map<ValueId, ValueId>;
}

/**
 * Appends d loss / d wrt to `graph`. Gradients are summed where a value has several consumers.
 * Only nodes on a path from a `wrt` value to `loss` get a backward rule, and each rule is told
 * which inputs need a gradient, so nothing below the lowest trained value is differentiated.
 */
export function gradients(graph: Graph, loss: ValueId, wrt: readonly ValueId[]): GradResult {
  const b = new GraphBuilder(graph.name, graph);
  const lossV = graph.values[loss]!;
  if (!isFloat(lossV.dtype) || size(lossV.shape) !== 1)
    throw new PockError('shape', `loss must be a float scalar, got ${lossV.dtype}[${lossV.shape.join(',')}]`);

  // values that depend on a wrt value through differentiable edges
  const active = new Set<ValueId>(wrt);
  for (const n of graph.nodes) {
    const def = opDef(n.op)!;
    if (def.nondiff) continue;
    const skip = new Set(def.nondiffInputs ?? []);
    if (n.inputs.some((v, i) => !skip.has(i) && active.has(v)))
      for (const o of n.outputs) if (isFloat(graph.values[o]!.dtype)) active.add(o);
  }
  if (!active.has(loss)) return { graph, grads: new Map() };

  // values from which the loss is reachable
  const reaches = new Set<ValueId>([loss]);
  for (let k = graph.nodes.length - 1; k >= 0; k--) {
    const n = graph.nodes[k]!;
    if (n.outputs.some((o) => reaches.has(o))) for (const i of n.inputs) reaches.add(i);
  }

  const cts = new Map<ValueId, ValueId>();
  const accumulate = (v: ValueId, g: ValueId) => {
    const prev = cts.get(v);
    cts.set(v, prev === undefined ? g : b.add(prev, g));
  };
  cts.set(loss, b.constant(tensor(lossV.dtype, lossV.shape, [1]), 'ones'));

  for (let k = graph.nodes.length - 1; k >= 0; k--) {
    const n = graph.nodes[k]!;
    const def = opDef(n.op)!;
    const outCts = n.outputs.map((o) => cts.get(o) ?? null);
    if (outCts.every((c) => c === null)) continue;
    const skip = new Set(def.nondiffInputs ?? []);
    const needs = n.inputs.map((v, i) => !skip.has(i) && active.has(v) && reaches.has(v));
    if (!needs.some(Boolean)) continue;
    if (!def.vjp)
      throw new PockError('internal', `no gradient rule, but a trained value depends on its output`, { op: n.op, node: n.name });
    const inCts = b.scoped(`grad(${n.name || n.op})`, () =>
      def.vjp!(b, { inputs: n.inputs, outputs: n.outputs, attrs: n.attrs, needs, name: n.name }, outCts),
    );
    n.inputs.forEach((v, i) => {
      const g = inCts[i];
      if (needs[i] && g !== null && g !== undefined) accumulate(v, g);
    });
  }

  const grads = new Map<ValueId, ValueId>();
  for (const w of wrt) {
    const g = cts.get(w);
    if (g !== undefined) grads.set(w, g);
  }
  return { graph: b.build(), grads };
}
