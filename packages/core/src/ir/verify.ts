import { PockError } from '../errors.js';
import { opDef } from '../ops/registry.js';
import { fmtShape, shapeEq } from '../shape.js';
import type { Graph } from './graph.js';
import { liveValues } from './print.js';

/**
 * Checks the invariants every pass must keep: topological order, single definition of each
 * value, known ops, types matching inference, data for every param/buffer/const/state value,
 * and well-typed updates. Throws PockError('internal') naming the node.
 */
export function verifyGraph(g: Graph): void {
  const defined = new Set<number>();
  const live = liveValues(g);
  for (const v of g.values) {
    if (v.role !== 'node' && v.role !== 'input' && live.has(v.id)) {
      if (!g.init.has(v.id)) fail(`${v.role} %${v.id} '${v.name}' has no data`);
      defined.add(v.id);
    }
  }
  for (const i of g.inputs) {
    if (g.values[i]?.role !== 'input') fail(`graph input %${i} is not an input value`);
    defined.add(i);
  }
  for (const n of g.nodes) {
    const where = { node: n.name, op: n.op };
    const def = opDef(n.op);
    if (!def) throw new PockError('internal', `unknown op`, where);
    for (const i of n.inputs) if (!defined.has(i)) throw new PockError('internal', `input %${i} used before definition`, where);
    const types = def.infer(n.inputs.map((i) => g.values[i]!), n.attrs, where);
    if (types.length !== n.outputs.length) throw new PockError('internal', `has ${n.outputs.length} outputs, inference gives ${types.length}`, where);
    n.outputs.forEach((o, k) => {
      const v = g.values[o]!;
      if (defined.has(o)) throw new PockError('internal', `value %${o} defined twice`, where);
      if (v.dtype !== types[k]!.dtype || !shapeEq(v.shape, types[k]!.shape))
        throw new PockError('internal', `output %${o} typed ${v.dtype}${fmtShape(v.shape)}, inference gives ${types[k]!.dtype}${fmtShape(types[k]!.shape)}`, where);
      defined.add(o);
    });
  }
  for (const o of g.outputs) if (!defined.has(o.value)) fail(`output '${o.name}' (%${o.value}) is never defined`);
  const targets = new Set<number>();
  for (const u of g.updates) {
    const t = g.values[u.target]!;
    const v = g.values[u.value]!;
    if (!['param', 'buffer', 'state'].includes(t.role)) fail(`update target %${u.target} is a ${t.role}`);
    if (targets.has(u.target)) fail(`%${u.target} updated twice`);
    targets.add(u.target);
    if (!defined.has(u.value)) fail(`update value %${u.value} is never defined`);
    if (t.dtype !== v.dtype || !shapeEq(t.shape, v.shape)) fail(`update of '${t.name}' changes its type`);
  }
}

function fail(msg: string): never {
  throw new PockError('internal', `graph verification failed: ${msg}`);
}
