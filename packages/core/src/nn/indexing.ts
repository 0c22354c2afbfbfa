/**
 * Index-driven ops for frontends (ONNX GatherElements / ScatterElements / GatherND / ScatterND /
 * TopK / OneHot, TF GatherNd / ScatterNd / TopKV2 / OneHot), lowered to core's gather and
 * scatter_add over the flattened data with flat indices computed in int64 at run time. They have
 * no ops of their own: gather's and scatter_add's gradient rules are the gradients.
 *
 * Indices are checked where the lowering can: negative ones count from the end of their axis, and
 * an index outside [-d, d) becomes a flat index past the end of the data, so the gather or
 * scatter kernel rejects it with a located input error instead of reading another element.
 */
import { PockError, type ErrorLocation } from '../errors.js';
import type { GraphBuilder } from '../ir/builder.js';
import type { ValueId } from '../ir/graph.js';
import { isFloat } from '../dtype.js';
import { normAxis, size, type Shape } from '../shape.js';
import { tensor } from '../tensor.js';

/** Largest k of topK (it unrolls k argmax steps). */
export const MAX_TOP_K = 256;

function strides(shape: Shape): number[] {
  const st = new Array<number>(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; d--) st[d] = st[d + 1]! * shape[d + 1]!;
  return st;
}

function intIndices(b: GraphBuilder, idx: ValueId, what: string, where: ErrorLocation): ValueId {
  const dt = b.dtype(idx);
  if (dt === 'int64') return idx;
  if (dt === 'int32') return b.cast(idx, 'int64');
  throw new PockError('dtype', `${what} must be integer, got ${dt}`, where);
}

/**
 * int64 indices into an axis of length `d` (a scalar, or per-position lengths broadcasting
 * against idx), negatives wrapped, with the mask of those still outside [0, d).
 */
function wrapped(b: GraphBuilder, idx: ValueId, d: ValueId): { idx: ValueId; bad: ValueId } {
  const zero = b.scalar(0, 'int64');
  const w = b.where(b.op1('less', [idx, zero], {}), b.add(idx, d), idx);
  const bad = b.op1('logical_or', [b.op1('less', [w, zero], {}), b.op1('greater_equal', [w, d], {})], {});
  return { idx: w, bad };
}

/** An int64 constant broadcasting along `axis` of a rank-`rank` tensor: 0, 1, ..., n - 1. */
function iota(b: GraphBuilder, n: number, axis: number, rank: number): ValueId {
  const shape = Array.from({ length: rank }, (_, d) => (d === axis ? n : 1));
  return b.constant(tensor('int64', shape, Array.from({ length: n }, (_, i) => i)));
}

/** Flat offsets into data (strides `st`) of every position of an `is`-shaped index tensor, leaving out axis `skip`. */
function offsetsBut(b: GraphBuilder, is: Shape, st: readonly number[], skip: number): ValueId {
  const n = size(is);
  const off = new Array<number>(n);
  const ist = strides(is);
  for (let t = 0; t < n; t++) {
    let o = 0;
    for (let d = 0; d < is.length; d++) if (d !== skip) o += Math.floor(t / ist[d]!) % is[d]! * st[d]!;
    off[t] = o;
  }
  return b.constant(tensor('int64', [...is], off));
}

/** Flat indices of GatherElements / ScatterElements positions (out-of-range ones: past the end). */
function elementIndices(b: GraphBuilder, ds: Shape, indices: ValueId, axis: number, where: ErrorLocation): ValueId {
  const is = b.shape(indices);
  if (is.length !== ds.length) throw new PockError('shape', `indices of rank ${is.length} for data of rank ${ds.length}: the ranks must match`, where);
  is.forEach((n, d) => {
    if (d !== axis && n > ds[d]!) throw new PockError('shape', `indices ${fmt(is)} exceed data ${fmt(ds)} on axis ${d} (only the gather axis may be longer)`, where);
  });
  const st = strides(ds);
  const { idx, bad } = wrapped(b, intIndices(b, indices, 'indices', where), b.scalar(ds[axis]!, 'int64'));
  const flat = b.add(b.mul(idx, b.scalar(st[axis]!, 'int64')), offsetsBut(b, is, st, axis));
  return b.where(bad, b.scalar(size(ds), 'int64'), flat);
}

const fmt = (s: Shape) => `[${s.join(', ')}]`;

/** out[i][j][k] = data[i][indices[i][j][k]][k] (axis 1): numpy take_along_axis, torch.gather. */
export function gatherElements(b: GraphBuilder, data: ValueId, indices: ValueId, axis: number, where: ErrorLocation = {}): ValueId {
  const ds = b.shape(data);
  const ax = normAxis(axis, ds.length, where);
  const flat = elementIndices(b, ds, indices, ax, where);
  return b.op1('gather', [b.reshape(data, [size(ds)]), flat], { axis: 0 });
}

export type ScatterReduction = 'none' | 'add';

/**
 * data with `updates` written at flat positions `flat` (int64, any shape, updates of the same
 * shape): replaced ('none': positions hit more than once receive the sum of their updates,
 * where ONNX leaves the result undefined) or added to ('add').
 */
function scatterFlat(b: GraphBuilder, data: ValueId, flat: ValueId, updates: ValueId, reduction: ScatterReduction): ValueId {
  const ds = b.shape(data);
  const n = size(b.shape(flat));
  const fi = b.reshape(flat, [n]);
  const sum = b.reshape(b.op1('scatter_add', [fi, b.reshape(updates, [n])], { axis: 0, shape: [size(ds)] }), ds);
  if (reduction === 'add') return b.add(data, sum);
  const ones = b.constant(tensor(b.dtype(updates), [n], new Array<number>(n).fill(1)));
  const hits = b.reshape(b.op1('scatter_add', [fi, ones], { axis: 0, shape: [size(ds)] }), ds);
  return b.where(b.op1('greater', [hits, b.scalar(0, b.dtype(updates))], {}), sum, data);
}

function checkReduction(reduction: string, where: ErrorLocation): ScatterReduction {
  if (reduction === 'none' || reduction === 'add') return reduction;
  throw new PockError('attr', `scatter reduction '${reduction}' is not supported (none, add)`, where);
}

/** ScatterElements: data with updates[i][j][k] written at [i][indices[i][j][k]][k] (axis 1). */
export function scatterElements(b: GraphBuilder, data: ValueId, indices: ValueId, updates: ValueId, axis: number, reduction: string, where: ErrorLocation = {}): ValueId {
  const ds = b.shape(data);
  const ax = normAxis(axis, ds.length, where);
  if (fmt(b.shape(indices)) !== fmt(b.shape(updates))) throw new PockError('shape', `updates ${fmt(b.shape(updates))} must have the indices' shape ${fmt(b.shape(indices))}`, where);
  return scatterFlat(b, data, elementIndices(b, ds, indices, ax, where), updates, checkReduction(reduction, where));
}

/**
 * The flat row of every index tuple of GatherND / ScatterND: data viewed [B, M, R] (B the batch
 * dims, M the q indexed dims, R the rest), tuples [..., q] -> int64 rows into [B * M] of shape
 * indices.shape[:-1]; out-of-range tuples: row B * M.
 */
function tupleRows(b: GraphBuilder, ds: Shape, indices: ValueId, batchDims: number, where: ErrorLocation): { rows: ValueId; rowCount: number; rest: Shape } {
  const is = b.shape(indices);
  const q = is.at(-1);
  if (q === undefined) throw new PockError('shape', 'indices must have rank >= 1 (the last axis holds the index tuples)', where);
  if (batchDims < 0 || batchDims >= Math.min(is.length, ds.length + 1)) throw new PockError('attr', `batch_dims ${batchDims} out of range for indices ${fmt(is)}`, where);
  if (batchDims + q > ds.length) throw new PockError('shape', `index tuples of length ${q} with ${batchDims} batch dims exceed data ${fmt(ds)}`, where);
  for (let d = 0; d < batchDims; d++)
    if (is[d] !== ds[d]) throw new PockError('shape', `batch dim ${d}: indices have ${is[d]}, data ${ds[d]}`, where);
  const idx = intIndices(b, indices, 'indices', where);
  const lead = is.slice(0, -1);
  const m = size(ds.slice(batchDims, batchDims + q));
  let row: ValueId | undefined;
  let bad: ValueId | undefined;
  let stride = m;
  for (let j = 0; j < q; j++) {
    const d = ds[batchDims + j]!;
    stride /= d;
    const comp = b.reshape(b.op1('slice', [idx], { starts: [j], ends: [j + 1], axes: [is.length - 1], steps: [1] }), lead);
    const w = wrapped(b, comp, b.scalar(d, 'int64'));
    const term = stride === 1 ? w.idx : b.mul(w.idx, b.scalar(stride, 'int64'));
    row = row === undefined ? term : b.add(row, term);
    bad = bad === undefined ? w.bad : b.op1('logical_or', [bad, w.bad], {});
  }
  const batch = size(ds.slice(0, batchDims));
  // the batch offset of each tuple: b * M for its position in the batch dims
  if (batchDims > 0) {
    const perBatch = size(lead.slice(batchDims));
    const off = Array.from({ length: size(lead) }, (_, t) => Math.floor(t / perBatch) * m);
    row = b.add(row ?? b.scalar(0, 'int64'), b.constant(tensor('int64', [...lead], off)));
  }
  const rowCount = batch * m;
  if (row === undefined) row = b.constant(tensor('int64', [...lead], new Array<number>(size(lead)).fill(0)));
  if (bad !== undefined) row = b.where(bad, b.scalar(rowCount, 'int64'), row);
  return { rows: row, rowCount, rest: ds.slice(batchDims + q) };
}

/** GatherND (ONNX, with batch_dims; TF GatherNd is batch_dims 0): output indices.shape[:-1] + data.shape[batch_dims + q:]. */
export function gatherNd(b: GraphBuilder, data: ValueId, indices: ValueId, batchDims = 0, where: ErrorLocation = {}): ValueId {
  const ds = b.shape(data);
  const { rows, rowCount, rest } = tupleRows(b, ds, indices, batchDims, where);
  const table = b.reshape(data, [rowCount, size(rest)]);
  return b.reshape(b.op1('gather', [table, rows], { axis: 0 }), [...b.shape(indices).slice(0, -1), ...rest]);
}

/** ScatterND: data with updates (indices.shape[:-1] + data.shape[q:]) written at the index tuples. */
export function scatterNd(b: GraphBuilder, data: ValueId, indices: ValueId, updates: ValueId, reduction: string, where: ErrorLocation = {}): ValueId {
  const ds = b.shape(data);
  const red = checkReduction(reduction, where);
  const { rows, rowCount, rest } = tupleRows(b, ds, indices, 0, where);
  const lead = b.shape(indices).slice(0, -1);
  const want = [...lead, ...rest];
  if (fmt(b.shape(updates)) !== fmt(want)) throw new PockError('shape', `updates ${fmt(b.shape(updates))} must have shape ${fmt(want)}`, where);
  const r = size(rest);
  // one flat element index per update element: row * R + column
  const flat = b.add(b.mul(b.reshape(rows, [...lead, 1]), b.scalar(r, 'int64')), iota(b, r, lead.length, lead.length + 1));
  const view = b.reshape(data, [rowCount * r]);
  return b.reshape(scatterFlat(b, view, flat, b.reshape(updates, [...lead, r]), red), ds);
}

/**
 * The k largest (or smallest) entries along `axis` and their int64 indices, in order (ties: the
 * lower index first): k unrolled argmax steps, each masking its pick; the values are a gather of
 * x, so their gradient flows back to the picked positions.
 */
export function topK(b: GraphBuilder, x: ValueId, k: number, axis: number, largest: boolean, where: ErrorLocation = {}): [values: ValueId, indices: ValueId] {
  const xs = b.shape(x);
  const ax = normAxis(axis, xs.length, where);
  const n = xs[ax]!;
  if (!isFloat(b.dtype(x))) throw new PockError('dtype', `top-k of a computed ${b.dtype(x)} tensor is not supported (float only)`, where);
  if (!Number.isInteger(k) || k < 0 || k > n) throw new PockError('attr', `k = ${k} is out of range for an axis of length ${n}`, where);
  if (k > MAX_TOP_K) throw new PockError('attr', `k = ${k} is larger than ${MAX_TOP_K}: top-k unrolls one argmax per output`, where);
  const outShape = xs.map((d, i) => (i === ax ? k : d));
  if (k === 0 || size(xs) === 0)
    return [b.constant(tensor(b.dtype(x), outShape, [])), b.constant(tensor('int64', outShape, []))];
  const key = largest ? x : b.neg(x);
  const pos = iota(b, n, ax, xs.length);
  const dt = b.dtype(x);
  const floor = b.scalar(-Infinity, dt);
  const picks: ValueId[] = [];
  let taken: ValueId | undefined;
  for (let i = 0; i < k; i++) {
    const cur = taken === undefined ? key : b.where(taken, floor, key);
    let pick = b.op1('argmax', [cur], { axis: ax, keepdims: true });
    if (taken !== undefined) {
      // when every entry left is -inf (or NaN), argmax may return one already taken: take the
      // first free position instead
      const free = b.cast(b.op1('logical_not', [taken], {}), dt);
      const firstFree = b.op1('argmax', [free], { axis: ax, keepdims: true });
      const again = b.op1('greater', [gatherElements(b, b.cast(taken, dt), pick, ax, where), b.scalar(0, dt)], {});
      pick = b.where(again, firstFree, pick);
    }
    picks.push(pick);
    const hit = b.op1('equal', [pos, pick], {});
    taken = taken === undefined ? hit : b.op1('logical_or', [taken, hit], {});
  }
  const indices = picks.length === 1 ? picks[0]! : b.op1('concat', picks, { axis: ax });
  return [gatherElements(b, x, indices, ax, where), indices];
}

/**
 * One-hot along a new axis `axis` (of the output, rank r + 1) of length `depth`: `on` where the
 * (wrapped) index matches, `off` elsewhere; indices outside [-depth, depth) give all `off`.
 */
export function oneHot(b: GraphBuilder, indices: ValueId, depth: number, off: ValueId, on: ValueId, axis: number, where: ErrorLocation = {}): ValueId {
  const is = b.shape(indices);
  const ax = normAxis(axis, is.length + 1, where);
  if (!Number.isInteger(depth) || depth < 1) throw new PockError('attr', `one-hot depth must be a positive integer, got ${depth}`, where);
  let idx = indices;
  if (isFloat(b.dtype(idx))) idx = b.cast(idx, 'int64');
  idx = intIndices(b, idx, 'indices', where);
  const w = wrapped(b, idx, b.scalar(depth, 'int64'));
  const expanded = b.reshape(w.idx, [...is.slice(0, ax), 1, ...is.slice(ax)]);
  return b.where(b.op1('equal', [expanded, iota(b, depth, ax, is.length + 1)], {}), on, off);
}
