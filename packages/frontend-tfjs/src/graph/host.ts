/**
 * Constants known at import time (Const nodes, and shape arithmetic folded from them: a
 * converted Flatten is Shape -> StridedSlice -> Prod -> Pack -> Reshape). Values are kept as
 * float64 numbers on the host; the semantics follow the TF op pages (numpy broadcasting,
 * StridedSlice masks as tensorflow/core/util/strided_slice_op.cc).
 */
import { PockError, size, stridesOf, tensor, type ErrorLocation, type Tensor } from '@pockengine/core';

export type HostDtype = 'float32' | 'int32' | 'bool';

export interface HostConst {
  readonly kind: 'const';
  readonly dtype: HostDtype;
  readonly shape: readonly number[];
  readonly data: Float64Array;
  /** Source node name (params materialized from this constant are named after it). */
  readonly name: string;
}

export function hostConst(dtype: HostDtype, shape: readonly number[], data: ArrayLike<number>, name = ''): HostConst {
  const d = Float64Array.from(data, (v) => (dtype === 'int32' ? Math.trunc(v) : dtype === 'bool' ? (v ? 1 : 0) : Math.fround(v)));
  return { kind: 'const', dtype, shape: [...shape], data: d, name };
}

/**
 * A float tensor of more than one element read from a Const node: a model weight (imported as a
 * param, never folded). Constants computed at import (folded) have no name and are not weights.
 */
export const isWeight = (c: HostConst): boolean => c.dtype === 'float32' && c.data.length > 1 && c.name !== '';

export function constTensor(c: HostConst): Tensor {
  return tensor(c.dtype, c.shape, c.data);
}

/** Multi-index of flat position `i` in `shape`. */
function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let k = shape.length - 1; k >= 0; k--) {
    idx[k] = i % shape[k]!;
    i = Math.floor(i / shape[k]!);
  }
  return idx;
}

/** out[i] = f(a[...], b[...]) with numpy broadcasting. */
export function hostBinary(a: HostConst, b: HostConst, f: (x: number, y: number) => number, dtype: HostDtype = a.dtype, where: ErrorLocation = {}): HostConst {
  const r = Math.max(a.shape.length, b.shape.length);
  const pa = [...new Array<number>(r - a.shape.length).fill(1), ...a.shape];
  const pb = [...new Array<number>(r - b.shape.length).fill(1), ...b.shape];
  const out = pa.map((d, i) => {
    const e = pb[i]!;
    if (d !== e && d !== 1 && e !== 1) throw new PockError('shape', `cannot broadcast [${a.shape}] with [${b.shape}]`, where);
    return d === 1 ? e : d;
  });
  const sa = stridesOf(pa).map((s, i) => (pa[i] === 1 ? 0 : s));
  const sb = stridesOf(pb).map((s, i) => (pb[i] === 1 ? 0 : s));
  const n = size(out);
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const idx = unravel(i, out);
    let ia = 0;
    let ib = 0;
    idx.forEach((v, k) => {
      ia += v * sa[k]!;
      ib += v * sb[k]!;
    });
    data[i] = f(a.data[ia]!, b.data[ib]!);
  }
  return hostConst(dtype, out, data);
}

export function hostReshape(c: HostConst, shape: readonly number[], where: ErrorLocation = {}): HostConst {
  const out = [...shape];
  const neg = out.indexOf(-1);
  if (neg >= 0) out[neg] = c.data.length / Math.max(1, out.reduce((p, d, i) => (i === neg ? p : p * d), 1));
  if (size(out) !== c.data.length) throw new PockError('shape', `cannot reshape [${c.shape}] to [${shape}]`, where);
  return { ...c, shape: out };
}

export function hostTranspose(c: HostConst, perm: readonly number[]): HostConst {
  const out = perm.map((p) => c.shape[p]!);
  const st = stridesOf(c.shape);
  const data = new Float64Array(c.data.length);
  for (let i = 0; i < data.length; i++) {
    const idx = unravel(i, out);
    data[i] = c.data[idx.reduce((s, v, k) => s + v * st[perm[k]!]!, 0)]!;
  }
  return hostConst(c.dtype, out, data);
}

export function hostConcat(cs: readonly HostConst[], axis: number): HostConst {
  const first = cs[0]!;
  const r = first.shape.length;
  const ax = axis < 0 ? axis + r : axis;
  const outer = size(first.shape.slice(0, ax));
  const data: number[] = [];
  for (let o = 0; o < outer; o++)
    for (const c of cs) {
      const inner = size(c.shape.slice(ax));
      for (let k = 0; k < inner; k++) data.push(c.data[o * inner + k]!);
    }
  const shape = [...first.shape];
  shape[ax] = cs.reduce((p, c) => p + c.shape[ax]!, 0);
  return hostConst(first.dtype, shape, data);
}

/** tf.stack: inserts a new axis and concatenates along it. */
export function hostPack(cs: readonly HostConst[], axis: number): HostConst {
  const r = cs[0]!.shape.length + 1;
  const ax = axis < 0 ? axis + r : axis;
  return hostConcat(cs.map((c) => hostReshape(c, [...c.shape.slice(0, ax), 1, ...c.shape.slice(ax)])), ax);
}

export function hostGather(c: HostConst, idx: HostConst, axis: number): HostConst {
  const ax = axis < 0 ? axis + c.shape.length : axis;
  const outer = size(c.shape.slice(0, ax));
  const inner = size(c.shape.slice(ax + 1));
  const d = c.shape[ax]!;
  const data: number[] = [];
  for (let o = 0; o < outer; o++)
    for (const j0 of idx.data) {
      const j = j0 < 0 ? j0 + d : j0;
      for (let k = 0; k < inner; k++) data.push(c.data[(o * d + j) * inner + k]!);
    }
  return hostConst(c.dtype, [...c.shape.slice(0, ax), ...idx.shape, ...c.shape.slice(ax + 1)], data);
}

export function hostReduce(c: HostConst, axes: readonly number[], keep: boolean, kind: 'sum' | 'prod' | 'max' | 'min' | 'mean'): HostConst {
  const r = c.shape.length;
  const set = new Set(axes.map((a) => (a < 0 ? a + r : a)));
  const kept = c.shape.map((d, i) => (set.has(i) ? 1 : d));
  const acc = new Float64Array(size(kept)).fill(kind === 'prod' ? 1 : kind === 'max' ? -Infinity : kind === 'min' ? Infinity : 0);
  const st = stridesOf(kept);
  for (let i = 0; i < c.data.length; i++) {
    const o = unravel(i, c.shape).reduce((s, v, k) => s + (set.has(k) ? 0 : v * st[k]!), 0);
    const v = c.data[i]!;
    acc[o] = kind === 'prod' ? acc[o]! * v : kind === 'max' ? Math.max(acc[o]!, v) : kind === 'min' ? Math.min(acc[o]!, v) : acc[o]! + v;
  }
  if (kind === 'mean') acc.forEach((v, i) => (acc[i] = v / (c.data.length / acc.length)));
  return hostConst(c.dtype, keep ? kept : c.shape.filter((_, i) => !set.has(i)), acc);
}

/** One input axis of a strided slice: first index, step, length. */
export interface SliceAxis {
  start: number;
  step: number;
  len: number;
}

/**
 * Resolves TF StridedSlice (begin, end, strides and the five masks) against `shape`: per input
 * axis the elements taken, and the final shape (shrunk axes removed, new axes inserted).
 */
export function stridedSliceSpec(
  shape: readonly number[],
  begin: readonly number[],
  end: readonly number[],
  strides: readonly number[],
  masks: { begin: number; end: number; ellipsis: number; newAxis: number; shrink: number },
  where: ErrorLocation = {},
): { axes: SliceAxis[]; finalShape: number[] } {
  const bit = (m: number, i: number) => ((m >> i) & 1) === 1;
  const axes: SliceAxis[] = [];
  const finalShape: number[] = [];
  const full = (d: number) => {
    axes.push({ start: 0, step: 1, len: d });
    finalShape.push(d);
  };
  let j = 0;
  for (let i = 0; i < begin.length; i++) {
    if (bit(masks.ellipsis, i)) {
      let rest = 0;
      for (let k = i + 1; k < begin.length; k++) if (!bit(masks.newAxis, k)) rest++;
      while (j < shape.length - rest) full(shape[j++]!);
      continue;
    }
    if (bit(masks.newAxis, i)) {
      finalShape.push(1);
      continue;
    }
    const d = shape[j++];
    if (d === undefined) throw new PockError('shape', `strided slice has more axes than the input [${shape}]`, where);
    const st = strides[i] ?? 1;
    if (st === 0) throw new PockError('attr', 'strided slice stride must not be 0', where);
    if (bit(masks.shrink, i)) {
      const k = begin[i]! < 0 ? begin[i]! + d : begin[i]!;
      if (k < 0 || k >= d) throw new PockError('shape', `index ${begin[i]} out of range for axis of size ${d}`, where);
      axes.push({ start: k, step: 1, len: 1 });
      continue;
    }
    const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
    const norm = (v: number) => (v < 0 ? v + d : v);
    const s = bit(masks.begin, i) ? (st > 0 ? 0 : d - 1) : st > 0 ? clamp(norm(begin[i]!), 0, d) : clamp(norm(begin[i]!), -1, d - 1);
    const e = bit(masks.end, i) ? (st > 0 ? d : -1) : st > 0 ? clamp(norm(end[i]!), 0, d) : clamp(norm(end[i]!), -1, d - 1);
    const len = Math.max(0, st > 0 ? Math.ceil((e - s) / st) : Math.ceil((s - e) / -st));
    axes.push({ start: s, step: st, len });
    finalShape.push(len);
  }
  while (j < shape.length) full(shape[j++]!);
  return { axes, finalShape };
}

export function hostStridedSlice(c: HostConst, axes: readonly SliceAxis[], finalShape: readonly number[]): HostConst {
  const sliced = axes.map((a) => a.len);
  const st = stridesOf(c.shape);
  const n = size(sliced);
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const idx = unravel(i, sliced);
    data[i] = c.data[idx.reduce((s, v, k) => s + (axes[k]!.start + v * axes[k]!.step) * st[k]!, 0)]!;
  }
  return hostConst(c.dtype, finalShape, data);
}
