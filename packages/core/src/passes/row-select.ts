/**
 * Channel-sparse gradients. A partially trained weight needs the gradient of only some output
 * channels (rows of dim 0). `selectRows` marks that with a selection on the full gradient;
 * `pushRowSelections` then pushes selections into the ops that produce the gradient, so only
 * the selected channels are ever computed (e.g. conv2d_grad_weight over the selected channels of
 * dy, a matmul over the selected rows of its left operand).
 */
import type { GraphBuilder } from '../ir/builder.js';
import { Rewrite, producers, useCounts } from '../ir/edit.js';
import type { Graph, Node, ValueId } from '../ir/graph.js';
import type { Attrs } from '../ir/graph.js';
import { normAxis } from '../shape.js';
import { tensor } from '../tensor.js';


/** Selects `rows` along `axis` of `v`: a slice for a contiguous run, a gather otherwise. */
export function selectAlong(b: GraphBuilder, v: ValueId, rows: readonly number[], axis: number): ValueId {
  const contiguous = rows.every((r, i) => r === rows[0]! + i);
  if (contiguous) return b.op1('slice', [v], { starts: [rows[0]!], ends: [rows[0]! + rows.length], axes: [axis], steps: [1] });
  return b.op1('gather', [v, b.constant(tensor('int32', [rows.length], rows), 'rows')], { axis });
}

export function selectRows(b: GraphBuilder, g: ValueId, rows: readonly number[]): ValueId {
  return selectAlong(b, g, rows, 0);
}

/** The selection a node makes along axis 0 of its input, if it is one we can push. */
function asRowSelection(n: Node, g: Graph): { rows: number[]; src: ValueId } | null {
  if (n.op === 'slice') {
    const a = n.attrs as { starts: number[]; ends: number[]; axes: number[]; steps: number[] };
    if (a.axes.length !== 1 || a.steps[0] !== 1) return null;
    const x = g.values[n.inputs[0]!]!;
    if (normAxis(a.axes[0]!, x.shape.length) !== 0) return null;
    const d = x.shape[0]!;
    const s = Math.max(0, a.starts[0]! < 0 ? a.starts[0]! + d : a.starts[0]!);
    const e = Math.min(d, a.ends[0]! < 0 ? a.ends[0]! + d : a.ends[0]!);
    if (e <= s) return null;
    return { rows: [...Array(e - s).keys()].map((i) => i + s), src: n.inputs[0]! };
  }
  if (n.op === 'gather' && (n.attrs as { axis: number }).axis === 0) {
    const idx = g.init.get(n.inputs[1]!);
    if (!idx || g.values[n.inputs[1]!]!.role !== 'const' || g.values[n.inputs[1]!]!.shape.length !== 1) return null;
    return { rows: Array.from(idx.data as ArrayLike<number>, Number), src: n.inputs[0]! };
  }
  return null;
}

/**
 * Rewrites `select_rows(P(...))` into `P'(select(...))` for producers P we know how to
 * restrict, when the selection is P's only consumer. Repeats until nothing changes.
 */
export function pushRowSelections(graph: Graph): Graph {
  let g = graph;
  for (let round = 0; round < 1000; round++) {
    const uses = useCounts(g);
    const prod = producers(g);
    const rw = new Rewrite(g);
    const cur = g;
    // rewrites in one round are disjoint: each removes a selection and its single producer
    cur.nodes.forEach((sel, index) => {
      const s = asRowSelection(sel, cur);
      if (!s) return;
      const p = prod.get(s.src);
      if (!p || uses.get(s.src) !== 1 || p.outputs.length !== 1 || rw.dropped(p)) return;
      const out = rw.at(index, () => rw.b.scoped(p.name, () => restrict(rw.b, p, s.rows, cur)));
      if (out === null) return;
      rw.drop(sel, p);
      rw.redirect(sel.outputs[0]!, out);
    });
    if (!rw.changed) return g;
    g = rw.finish();
  }
  return g;
}

/** The producer P computed for the selected rows only, or null if P is not one we restrict. */
function restrict(b: GraphBuilder, p: Node, rows: readonly number[], g: Graph): ValueId | null {
  const shapeOf = (v: ValueId) => g.values[v]!.shape;
  const a = p.attrs as Attrs & Record<string, unknown>;
  switch (p.op) {
    case 'conv2d_grad_weight': {
      const [x, dy] = p.inputs as [ValueId, ValueId];
      const ws = a.weightShape as number[];
      const groups = a.groups as number;
      const cin = shapeOf(x)[1]!;
      const base = { ...(a as object), weightShape: [rows.length, ...ws.slice(1)] } as never;
      if (groups === 1) return b.op1('conv2d_grad_weight', [x, selectAlong(b, dy, rows, 1)], base);
      if (groups === cin && ws[0] === cin) {
        // depthwise: channel r of the output sees only channel r of the input
        return b.op1('conv2d_grad_weight', [selectAlong(b, x, rows, 1), selectAlong(b, dy, rows, 1)], { ...(base as object), groups: rows.length } as never);
      }
      return null;
    }
    case 'matmul': {
      const [x, y] = p.inputs as [ValueId, ValueId];
      if (shapeOf(x).length !== 2 || shapeOf(y).length !== 2) return null;
      const transA = a.transA as boolean;
      return b.matmul(selectAlong(b, x, rows, transA ? 1 : 0), y, transA, a.transB as boolean);
    }
    case 'reduce_sum': {
      const x = p.inputs[0]!;
      const rank = shapeOf(x).length;
      const axes = new Set((a.axes as number[]).map((ax) => normAxis(ax, rank)));
      const keep = a.keepdims as boolean;
      // input axis that becomes output axis 0
      let axis = 0;
      if (!keep) while (axes.has(axis)) axis++;
      if (axes.has(axis) || axis >= rank) return null;
      return b.op1('reduce_sum', [selectAlong(b, x, rows, axis)], { axes: a.axes as number[], keepdims: keep });
    }
    case 'transpose': {
      const perm = a.perm as number[];
      return b.transpose(selectAlong(b, p.inputs[0]!, rows, perm[0]!), perm);
    }
    case 'reshape': {
      const x = p.inputs[0]!;
      const to = shapeOf(p.outputs[0]!);
      if (shapeOf(x)[0] !== to[0]) return null;
      return b.reshape(selectAlong(b, x, rows, 0), [rows.length, ...to.slice(1)]);
    }
    case 'add': {
      const [x, y] = p.inputs as [ValueId, ValueId];
      const out = shapeOf(p.outputs[0]!);
      if (shapeOf(x).length !== out.length || shapeOf(y).length !== out.length || shapeOf(x)[0] !== out[0] || shapeOf(y)[0] !== out[0]) return null;
      return b.add(selectAlong(b, x, rows, 0), selectAlong(b, y, rows, 0));
    }
    default:
      return null;
  }
}
