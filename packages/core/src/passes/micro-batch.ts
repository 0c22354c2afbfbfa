/**
 * Micro-batching of the frozen prefix. With sparse backprop nothing below the lowest trained
 * layer keeps an activation: that part of the forward pass is inference. Inference is
 * separable over the batch, so it can run in chunks of the batch, one after the other; each
 * chunk's intermediates die before the next chunk starts and only the prefix's outputs (the
 * "boundary", where the trained part begins) are gathered at full batch. The peak of the early,
 * wide layers (MobileNetV2's 96-channel 48x48 expansion at batch 8, ...) drops by the chunk
 * count — the batch-axis counterpart of MCUNetV2's patch-based inference.
 *
 * The prefix S is the largest set of forward nodes, in order, that
 *   - do not depend on a trained parameter (gradients do not flow through them),
 *   - are separable over axis 0 (an allow-list of op kinds, checked per instance: convs, pools,
 *     eval-mode norms, elementwise ops whose other operands do not vary along the batch, ...),
 *   - read batch-carrying values only from graph inputs or from S,
 *   - have no output read by a backward or update node, nor by an output or update of the graph.
 * Every node of S is cloned per chunk on slices of the inputs; boundary values are concatenated.
 * Each clone's shapes are checked (the original's with the chunk's batch); if one differs the
 * graph is returned unchanged. `microBatchFrozenPrefix(g, 'auto')` tries the divisors of the
 * batch and keeps the graph with the lowest planned peak (the plan is exact, so this is a
 * measurement, not a guess); with no gain the graph is returned unchanged.
 */
import { PockError } from '../errors.js';
import { Rewrite, producers } from '../ir/edit.js';
import type { Graph, Node, ValueId } from '../ir/graph.js';
import { nodePhase } from '../plan/memory.js';
import { lowerToPlan } from '../plan/plan.js';
import { OPS } from '../ops/registry.js';
import { resolveReshape } from '../ops/shape-ops.js';
import { normAxis } from '../shape.js';

export type MicroBatches = number | 'auto';

/** The batch size the frozen prefix runs with (the graph's inputs' leading dim), or null. */
function batchOf(g: Graph): number | null {
  const firsts = g.inputs.map((i) => g.values[i]!.shape[0]).filter((d): d is number => d !== undefined);
  if (firsts.length === 0) return null;
  return firsts.every((d) => d === firsts[0]) ? firsts[0]! : null;
}

/**
 * Whether `n` maps a batch split to the same split of its outputs. `batched[i]` says which inputs
 * carry the batch along axis 0 (with size B); the others are shared by every chunk.
 */
function separable(g: Graph, n: Node, batched: readonly boolean[], B: number): boolean {
  const shape = (v: ValueId) => g.values[v]!.shape;
  const outRank = shape(n.outputs[0]!).length;
  if (!n.outputs.every((o) => shape(o)[0] === B)) return false;
  if (n.inputs.some((v, i) => batched[i] && shape(v)[0] !== B)) return false;
  const a = n.attrs as Record<string, unknown>;
  const only = (...idx: number[]) => batched.every((b, i) => !b || idx.includes(i));
  const def = OPS[n.op as keyof typeof OPS] as { elementwise?: boolean } | undefined;
  if (n.op === 'dropout') return false; // a random mask per element index: chunks would repeat it
  if (def?.elementwise)
    // shared operands broadcast from the right; one as long as the output must not vary along axis 0
    return n.inputs.every((v, i) => batched[i] || shape(v).length < outRank || shape(v)[0] === 1);
  switch (n.op) {
    case 'conv2d':
    case 'max_pool2d':
    case 'avg_pool2d':
      return only(0);
    case 'batch_norm':
      return a.training === false && only(0);
    case 'layer_norm':
      return only(0) && normAxis(a.axis as number, shape(n.inputs[0]!).length) > 0;
    case 'softmax':
    case 'log_softmax':
      return only(0) && normAxis(a.axis as number, outRank) > 0;
    case 'reduce_sum':
    case 'reduce_mean':
    case 'reduce_max': {
      const r = shape(n.inputs[0]!).length;
      const axes = a.axes as number[];
      return only(0) && axes.length > 0 && axes.every((x) => normAxis(x, r) > 0);
    }
    case 'transpose':
      return (a.perm as number[])[0] === 0;
    case 'reshape':
      return shape(n.inputs[0]!)[0] === B;
    case 'concat':
      return normAxis(a.axis as number, outRank) > 0 && n.inputs.every((v, i) => batched[i] || shape(v)[0] === 1);
    case 'split':
      return normAxis(a.axis as number, outRank) > 0;
    case 'slice': {
      const r = shape(n.inputs[0]!).length;
      return (a.axes as number[]).every((x) => normAxis(x, r) > 0);
    }
    case 'pad':
      return (a.pads as number[])[0] === 0 && (a.pads as number[])[outRank] === 0;
    case 'matmul': {
      const [ra, rb] = n.inputs.map((v) => shape(v).length) as [number, number];
      if (batched[0] && batched[1]) return ra >= 3 && rb >= 3 && ra === rb;
      if (batched[0]) return ra >= 3 || (ra === 2 && a.transA === false);
      return rb >= 3 && rb >= ra && shape(n.inputs[0]!).length < rb;
    }
    case 'gather':
      return only(1) && normAxis(a.axis as number, shape(n.inputs[0]!).length) === 0;
    default:
      return false;
  }
}

interface Prefix {
  nodes: Node[];
  /** Values of S read outside S (or graph inputs sliced for S), in production order. */
  boundary: ValueId[];
  /** Graph inputs read by S. */
  inputs: ValueId[];
}

function findPrefix(g: Graph, B: number, trained: ReadonlySet<ValueId>): Prefix {
  const batchedVals = new Set<ValueId>(g.inputs.filter((i) => g.values[i]!.shape[0] === B));
  // values that depend on a trained parameter: the part of the forward pass gradients flow through
  const live = new Set<ValueId>(trained);
  const inS = new Set<number>();
  const sVals = new Set<ValueId>();
  const graphInputs = new Set(g.inputs);
  const readers = new Map<ValueId, Node[]>();
  for (const n of g.nodes) for (const v of n.inputs) (readers.get(v) ?? readers.set(v, []).get(v)!).push(n);
  const external = new Set<ValueId>([...g.outputs.map((o) => o.value), ...g.updates.map((u) => u.value)]);
  const nodes: Node[] = [];
  for (const n of g.nodes) {
    const batched = n.inputs.map((v) => batchedVals.has(v));
    if (batched.some(Boolean)) for (const o of n.outputs) batchedVals.add(o);
    const dependsOnTrained = n.inputs.some((v) => live.has(v));
    if (dependsOnTrained) for (const o of n.outputs) live.add(o);
    if (!batched.some(Boolean) || dependsOnTrained || nodePhase(n.name) !== 'forward') continue;
    if (!n.inputs.every((v, i) => !batched[i] || graphInputs.has(v) || sVals.has(v))) continue;
    const readInBackward = n.outputs.some((o) => external.has(o) || (readers.get(o) ?? []).some((r) => nodePhase(r.name) !== 'forward'));
    if (readInBackward || !separable(g, n, batched, B)) continue;
    inS.add(n.id);
    n.outputs.forEach((o) => sVals.add(o));
    nodes.push(n);
  }
  const boundary: ValueId[] = [];
  for (const n of nodes)
    for (const o of n.outputs) if (external.has(o) || (readers.get(o) ?? []).some((r) => !inS.has(r.id))) boundary.push(o);
  const inputs = [...new Set(nodes.flatMap((n) => n.inputs.filter((v) => graphInputs.has(v))))];
  return { nodes, boundary, inputs };
}

/** Rewrites `g` so that the prefix runs in `chunks` equal slices of the batch. */
export function microBatch(g: Graph, trained: ReadonlySet<ValueId>, chunks: number): Graph {
  const B = batchOf(g);
  if (B === null || chunks <= 1 || B % chunks !== 0) return g;
  return split(g, B, findPrefix(g, B, trained), chunks);
}

function split(g: Graph, B: number, prefix: Prefix, chunks: number): Graph {
  if (prefix.nodes.length === 0 || prefix.boundary.length === 0) return g;
  const size = B / chunks;
  const rw = new Rewrite(g);
  const b = rw.b;
  const order = new Map(g.nodes.map((n, i) => [n.id, i]));
  const N = g.nodes.length;
  const first = order.get(prefix.nodes[0]!.id)!;
  const pieces = new Map<ValueId, ValueId[]>();
  try {
    for (let c = 0; c < chunks; c++) {
      const lo = c * size;
      const local = new Map<ValueId, ValueId>();
      // chunk c's nodes sort after chunk c-1's (keys c*N + position), before anything they feed
      rw.at(c * N + first - 0.5, () => {
        for (const x of prefix.inputs)
          local.set(x, b.op1('slice', [x], { starts: [lo], ends: [lo + size], axes: [0], steps: [1] }, `${g.values[x]!.name}[${lo}:${lo + size}]`));
      });
      for (const n of prefix.nodes) {
        const attrs = n.op === 'reshape' ? { shape: [size, ...resolveReshape(g.values[n.inputs[0]!]!.shape, (n.attrs as { shape: number[] }).shape, { op: 'reshape', node: n.name }).slice(1)] } : n.attrs;
        const outs = rw.at(c * N + order.get(n.id)!, () =>
          b.op(n.op as never, n.inputs.map((v) => local.get(v) ?? v), attrs as never, `${n.name}[${lo}:${lo + size}]`),
        );
        outs.forEach((o, k) => {
          const want = g.values[n.outputs[k]!]!.shape;
          const got = b.shape(o);
          if (got[0] !== size || got.length !== want.length || got.some((d, j) => j > 0 && d !== want[j]))
            throw new PockError('internal', `micro-batch: ${n.op} '${n.name}' gives ${JSON.stringify(got)} for a chunk of ${JSON.stringify(want)}`);
          local.set(n.outputs[k]!, o);
        });
      }
      for (const v of prefix.boundary) pieces.set(v, [...(pieces.get(v) ?? []), local.get(v)!]);
    }
  } catch (e) {
    if (e instanceof PockError && e.code === 'internal') return g;
    throw e;
  }
  const prod = producers(g);
  for (const v of prefix.boundary) {
    const whole = rw.at((chunks - 1) * N + order.get(prod.get(v)!.id)! + 0.5, () => b.op1('concat', pieces.get(v)!, { axis: 0 }, `${prod.get(v)!.name}[gather]`));
    rw.redirect(v, whole);
  }
  rw.drop(...prefix.nodes);
  return rw.finish();
}

/** Planned peak bytes of a graph (the exact figure a backend allocates, at 64-byte alignment). */
function plannedPeak(g: Graph): number {
  return lowerToPlan(g).memory.peakBytes;
}

/**
 * Micro-batches the frozen prefix of a training graph (`trained`: the parameters that get
 * gradients): `chunks` slices of the batch, or 'auto'
 * (each divisor of the batch is planned; the lowest peak wins, fewer chunks on a tie; no gain,
 * no change).
 */
export function microBatchFrozenPrefix(g: Graph, trained: ReadonlySet<ValueId>, chunks: MicroBatches = 'auto'): Graph {
  if (chunks !== 'auto') return microBatch(g, trained, chunks);
  const B = batchOf(g);
  if (B === null || B <= 1) return g;
  const prefix = findPrefix(g, B, trained);
  if (prefix.nodes.length === 0) return g;
  let best = g;
  let bestPeak = plannedPeak(g);
  for (let k = 2; k <= B; k++) {
    if (B % k !== 0) continue;
    const cand = split(g, B, prefix, k);
    if (cand === g) continue;
    const peak = plannedPeak(cand);
    // a smaller peak by at least 1% is worth more kernel calls
    if (peak < bestPeak * 0.99) {
      best = cand;
      bestPeak = peak;
    }
  }
  return best;
}
