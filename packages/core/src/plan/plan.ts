/**
 * The execution plan: a flat, printable list of steps over value ids. Lowering decides the
 * order (the graph's topological order), frees each temporary after its last use, and turns
 * updates into buffer hand-overs at the end of the step.
 */
import { byteSize, type DType } from '../dtype.js';
import { PockError } from '../errors.js';
import type { Attrs, Graph, Update, ValueId, ValueRole } from '../ir/graph.js';
import type { OpName } from '../ops/registry.js';
import { size, type Shape } from '../shape.js';
import type { Tensor } from '../tensor.js';

export interface PlanValue {
  id: ValueId;
  name: string;
  dtype: DType;
  shape: Shape;
  role: ValueRole;
  bytes: number;
}

export type Step =
  | { kind: 'run'; op: OpName; attrs: Attrs; inputs: ValueId[]; outputs: ValueId[]; name: string }
  | { kind: 'free'; values: ValueId[] };

export interface Plan {
  name: string;
  values: Map<ValueId, PlanValue>;
  steps: Step[];
  inputs: { name: string; value: ValueId }[];
  outputs: { name: string; value: ValueId }[];
  updates: Update[];
  /** Initial data of persistent values (params, buffers, consts, state). */
  init: ReadonlyMap<ValueId, Tensor>;
}

const PERSISTENT: ReadonlySet<ValueRole> = new Set(['input', 'param', 'buffer', 'const', 'state']);

export function isPersistent(role: ValueRole): boolean {
  return PERSISTENT.has(role);
}

export function lowerToPlan(g: Graph): Plan {
  const values = new Map<ValueId, PlanValue>();
  const use = (id: ValueId) => {
    if (values.has(id)) return;
    const v = g.values[id]!;
    values.set(id, { id, name: v.name, dtype: v.dtype, shape: v.shape, role: v.role, bytes: size(v.shape) * byteSize(v.dtype) });
  };
  for (const i of g.inputs) use(i);
  for (const n of g.nodes) {
    n.inputs.forEach(use);
    n.outputs.forEach(use);
  }
  for (const o of g.outputs) use(o.value);
  for (const u of g.updates) {
    use(u.target);
    use(u.value);
    if (isPersistent(g.values[u.value]!.role))
      throw new PockError('internal', `update of '${g.values[u.target]!.name}' from a persistent value is not supported`);
  }

  // last step index using each temporary; outputs and update sources live to the end
  const keep = new Set<ValueId>([...g.outputs.map((o) => o.value), ...g.updates.map((u) => u.value)]);
  const lastUse = new Map<ValueId, number>();
  g.nodes.forEach((n, k) => {
    for (const i of n.inputs) lastUse.set(i, k);
    for (const o of n.outputs) if (!lastUse.has(o)) lastUse.set(o, k);
  });
  const freeAt = new Map<number, ValueId[]>();
  for (const [id, k] of lastUse) {
    if (keep.has(id) || isPersistent(values.get(id)!.role)) continue;
    (freeAt.get(k) ?? freeAt.set(k, []).get(k)!).push(id);
  }
  const steps: Step[] = [];
  g.nodes.forEach((n, k) => {
    steps.push({ kind: 'run', op: n.op as OpName, attrs: n.attrs, inputs: [...n.inputs], outputs: [...n.outputs], name: n.name });
    const f = freeAt.get(k);
    if (f) steps.push({ kind: 'free', values: f.sort((a, b) => a - b) });
  });
  const init = new Map([...g.init].filter(([id]) => values.has(id)));
  return { name: g.name, values, steps, inputs: g.inputs.map((v) => ({ name: g.values[v]!.name, value: v })), outputs: [...g.outputs], updates: [...g.updates], init };
}

/** Stable text form of a plan. */
export function printPlan(p: Plan): string {
  const lines = [`plan ${p.name} {`];
  for (const s of p.steps) {
    if (s.kind === 'run') lines.push(`  run  ${s.outputs.map((o) => `%${o}`).join(', ')} = ${s.op}(${s.inputs.map((i) => `%${i}`).join(', ')})`);
    else lines.push(`  free ${s.values.map((v) => `%${v}`).join(', ')}`);
  }
  for (const u of p.updates) lines.push(`  update %${u.target} <- %${u.value}`);
  lines.push('}');
  return lines.join('\n');
}
