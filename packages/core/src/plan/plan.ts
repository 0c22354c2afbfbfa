/**
 * The execution plan: a flat, printable list of steps over value ids, with a static memory
 * plan. Lowering keeps the graph's (already reordered) topological order, decides which update
 * writes its parameter in place, frees each temporary after its last use, and asks the memory
 * planner for arena offsets so that the peak is known before anything runs.
 */
import { byteSize, type DType } from '../dtype.js';
import type { Attrs, Graph, Update, ValueId, ValueRole } from '../ir/graph.js';
import { opDef, type OpName } from '../ops/registry.js';
import { shapeEq, size, type Shape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { planMemory, type MemoryPlan } from './memory.js';

export interface PlanValue {
  id: ValueId;
  name: string;
  dtype: DType;
  shape: Shape;
  role: ValueRole;
  bytes: number;
}

export type Step =
  | {
      kind: 'run';
      op: OpName;
      attrs: Attrs;
      inputs: ValueId[];
      outputs: ValueId[];
      name: string;
      /** Per output: index of the input whose buffer it overwrites in place, or null. */
      inPlace: (number | null)[];
    }
  | { kind: 'free'; values: ValueId[] };

export interface Plan {
  name: string;
  values: Map<ValueId, PlanValue>;
  /**
   * Constant folding at bind time: nodes that read only constants and parameters no update
   * touches run once when the program is created; their outputs are persistent.
   */
  initSteps: Extract<Step, { kind: 'run' }>[];
  /** Outputs of init steps (persistent, computed once). */
  folded: Set<ValueId>;
  /**
   * Weights and constants read only by init steps: uploaded for the folding, then released
   * (a frozen weight and its folded transpose are never both resident).
   */
  initOnly: Set<ValueId>;
  steps: Step[];
  inputs: { name: string; value: ValueId }[];
  outputs: { name: string; value: ValueId }[];
  /** Updates applied at the end of a step by copying (those not done in place). */
  copies: Update[];
  /** Updates done in place: the update value lives in its target's buffer. */
  aliases: Map<ValueId, ValueId>;
  /** Initial data of persistent values (params, buffers, consts, state). */
  init: ReadonlyMap<ValueId, Tensor>;
  memory: MemoryPlan;
}

const PERSISTENT: ReadonlySet<ValueRole> = new Set(['input', 'param', 'buffer', 'const', 'state']);

export function isPersistent(role: ValueRole): boolean {
  return PERSISTENT.has(role);
}

export interface LowerOptions {
  /** Arena offset alignment in bytes (a backend's requirement; default 64). */
  alignment?: number;
}

export function lowerToPlan(g: Graph, opts: LowerOptions = {}): Plan {
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
  }

  // nodes computing only from constants and frozen weights are folded: run once at bind time
  const updated = new Set(g.updates.map((u) => u.target));
  const constant = new Set<ValueId>();
  for (const v of g.values)
    if (v.role === 'const' || ((v.role === 'param' || v.role === 'buffer') && !updated.has(v.id))) constant.add(v.id);
  const initNodes = new Set<number>();
  for (const n of g.nodes) {
    if (n.op === 'dropout' || n.inputs.length === 0 || !n.inputs.every((i) => constant.has(i))) continue;
    initNodes.add(n.id);
    n.outputs.forEach((o) => constant.add(o));
  }
  const folded = new Set(g.nodes.filter((n) => initNodes.has(n.id)).flatMap((n) => n.outputs));
  const runNodes = g.nodes.filter((n) => !initNodes.has(n.id));
  const readAtRun = new Set<ValueId>([...runNodes.flatMap((n) => n.inputs), ...g.outputs.map((o) => o.value), ...g.updates.flatMap((u) => [u.target, u.value])]);
  const initOnly = new Set(
    g.nodes
      .filter((n) => initNodes.has(n.id))
      .flatMap((n) => n.inputs)
      .filter((v) => !readAtRun.has(v) && !folded.has(v)),
  );

  const producer = new Map<ValueId, number>();
  const lastRead = new Map<ValueId, number>();
  runNodes.forEach((n, k) => {
    for (const o of n.outputs) producer.set(o, k);
    for (const i of n.inputs) lastRead.set(i, k);
  });

  // An update is done in place when its value comes from an elementwise node (or an optimizer
  // update) that reads the target itself, after every other reader of the target: then the
  // node may overwrite the target's buffer (a layer's input gradient has already been computed
  // with the old weight). Outputs are never aliased.
  const outputValues = new Set(g.outputs.map((o) => o.value));
  const aliases = new Map<ValueId, ValueId>();
  const inPlaceOf = new Map<ValueId, number>();
  const copies: Update[] = [];
  for (const u of g.updates) {
    const k = producer.get(u.value);
    const n = k === undefined ? undefined : runNodes[k]!;
    const def = n && opDef(n.op);
    const inIdx = n ? n.inputs.indexOf(u.target) : -1;
    const ok =
      n &&
      def &&
      (def.elementwise || def.nondiff === 'optimizer') &&
      inIdx >= 0 &&
      lastRead.get(u.target) === k &&
      n.inputs.filter((i) => i === u.target).length === 1 &&
      !outputValues.has(u.value) &&
      !outputValues.has(u.target) &&
      shapeEq(g.values[u.value]!.shape, g.values[u.target]!.shape) &&
      g.values[u.value]!.dtype === g.values[u.target]!.dtype;
    if (ok) {
      aliases.set(u.value, u.target);
      inPlaceOf.set(u.value, inIdx);
    } else copies.push(u);
  }

  // An elementwise node writes over a temporary input that dies at it (same shape and dtype): the
  // masked gradient where(mask, dy, 0) takes dy's buffer, an activation its input's, ... The
  // kernels read element i of every operand before writing element i of the output. A reshape
  // of a temporary that dies at it views the same bytes (its kernel sees one buffer and copies
  // nothing).
  const keep = new Set<ValueId>([...outputValues, ...copies.map((u) => u.value)]);
  const updateTargets = new Set(g.updates.map((u) => u.target));
  runNodes.forEach((n, k) => {
    if (n.op === 'reshape') {
      // a reshape of a temporary that dies at it is a view of the same bytes: no copy
      const [i] = n.inputs as [ValueId];
      const o = n.outputs[0]!;
      if (
        !keep.has(o) &&
        values.get(i)!.role === 'node' &&
        !folded.has(i) &&
        !keep.has(i) &&
        !updateTargets.has(rootOf(aliases, i)) &&
        lastRead.get(i) === k &&
        g.values[i]!.dtype === g.values[o]!.dtype
      ) {
        aliases.set(o, i);
        inPlaceOf.set(o, 0);
      }
      return;
    }
    if (!opDef(n.op)?.elementwise) return;
    const taken = new Set<ValueId>();
    n.outputs.forEach((o) => {
      if (aliases.has(o) || keep.has(o)) return;
      const idx = n.inputs.findIndex(
        (i) =>
          !taken.has(i) &&
          values.get(i)!.role === 'node' &&
          !folded.has(i) &&
          !keep.has(i) &&
          !updateTargets.has(rootOf(aliases, i)) &&
          lastRead.get(i) === k &&
          shapeEq(g.values[i]!.shape, g.values[o]!.shape) &&
          g.values[i]!.dtype === g.values[o]!.dtype,
      );
      if (idx < 0) return;
      taken.add(n.inputs[idx]!);
      aliases.set(o, n.inputs[idx]!);
      inPlaceOf.set(o, idx);
    });
  });

  // temporaries die after their last read; outputs and copied update values live to the end
  const freeAt = new Map<number, ValueId[]>();
  for (const [id, v] of values) {
    if (isPersistent(v.role) || keep.has(id) || aliases.has(id) || folded.has(id)) continue;
    const k = lastRead.get(id) ?? producer.get(id);
    if (k === undefined) continue;
    (freeAt.get(k) ?? freeAt.set(k, []).get(k)!).push(id);
  }
  const run = (n: (typeof g.nodes)[number]): Extract<Step, { kind: 'run' }> => ({
    kind: 'run',
    op: n.op as OpName,
    attrs: n.attrs,
    inputs: [...n.inputs],
    outputs: [...n.outputs],
    name: n.name,
    inPlace: n.outputs.map((o) => inPlaceOf.get(o) ?? null),
  });
  const steps: Step[] = [];
  runNodes.forEach((n, k) => {
    steps.push(run(n));
    const f = freeAt.get(k);
    if (f) steps.push({ kind: 'free', values: f.sort((a, b) => a - b) });
  });
  const initSteps = g.nodes.filter((n) => initNodes.has(n.id)).map(run);
  const init = new Map([...g.init].filter(([id]) => values.has(id)));
  const inputs = g.inputs.map((v) => ({ name: g.values[v]!.name, value: v }));
  const plan = { name: g.name, values, initSteps, folded, initOnly, steps, inputs, outputs: [...g.outputs], copies, aliases, init };
  return { ...plan, memory: planMemory(plan, opts.alignment ?? 64) };
}

/** The buffer a value lives in: follows in-place aliases to a temporary or a persistent value. */
export function rootOf(aliases: ReadonlyMap<ValueId, ValueId>, v: ValueId): ValueId {
  let r = v;
  while (aliases.has(r)) r = aliases.get(r)!;
  return r;
}

/** Stable text form of a plan. */
export function printPlan(p: Plan): string {
  const lines = [`plan ${p.name} {`];
  for (const s of p.initSteps) lines.push(`  init ${s.outputs.map((o) => `%${o}`).join(', ')} = ${s.op}(${s.inputs.map((i) => `%${i}`).join(', ')})`);
  const loc = (v: ValueId) => {
    const off = p.memory.offsets.get(v);
    if (off !== undefined) return `%${v}@${off}`;
    const a = p.aliases.get(v);
    return a !== undefined ? `%${v}@%${a}` : `%${v}`;
  };
  for (const s of p.steps) {
    if (s.kind === 'run') lines.push(`  run  ${s.outputs.map(loc).join(', ')} = ${s.op}(${s.inputs.map((i) => `%${i}`).join(', ')})`);
    else lines.push(`  free ${s.values.map((v) => `%${v}`).join(', ')}`);
  }
  for (const u of p.copies) lines.push(`  copy %${u.target} <- %${u.value}`);
  lines.push(`  arena ${p.memory.arenaBytes} bytes, peak ${p.memory.peakBytes} bytes`);
  lines.push('}');
  return lines.join('\n');
}
