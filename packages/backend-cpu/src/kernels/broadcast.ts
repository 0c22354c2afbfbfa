/**
 * Strided iteration shared by the CPU kernels: numpy broadcasting, transposes, slices and
 * padding are all "walk a shape in row-major order while k other tensors follow with their own
 * offset and strides". Shapes themselves come from core's helpers; this only walks them.
 */
import { size, stridesOf, type Shape } from '@pockengine/core';

/** How a tensor is read (or written) while walking another shape: base offset + per-axis strides. */
export interface View {
  offset: number;
  strides: readonly number[];
}

/**
 * Strides of `from` read as broadcast to `to` (numpy rules, right-aligned): 0 along new leading
 * axes and along size-1 axes that grow, the ordinary row-major stride elsewhere.
 */
export function broadcastStrides(from: Shape, to: Shape): number[] {
  const lead = to.length - from.length;
  const s = stridesOf(from);
  return to.map((_, i) => (i < lead || from[i - lead] === 1 ? 0 : s[i - lead]!));
}

/** A view reading `from` broadcast to `to`. */
export function broadcastView(from: Shape, to: Shape): View {
  return { offset: 0, strides: broadcastStrides(from, to) };
}

/**
 * Calls `row` once per innermost row of `shape` (row-major), with the row's linear index in
 * `shape`, each view's offset at the row start, the row length and each view's innermost
 * stride. Rows amortise the callback: kernels run their own tight inner loop over the row.
 * `offsets` is reused between calls; read it, never keep or modify it.
 */
export function forEachRow(
  shape: Shape,
  views: readonly View[],
  row: (start: number, offsets: readonly number[], len: number, inner: readonly number[]) => void,
): void {
  const r = shape.length;
  const k = views.length;
  const offs = views.map((v) => v.offset);
  if (r === 0) {
    row(0, offs, 1, views.map(() => 0));
    return;
  }
  const len = shape[r - 1]!;
  const total = size(shape);
  if (total === 0) return;
  const inner = views.map((v) => v.strides[r - 1]!);
  const idx = new Array<number>(r).fill(0);
  for (let start = 0; start < total; start += len) {
    row(start, offs, len, inner);
    // advance the odometer over the outer axes, carrying from the innermost outward
    for (let ax = r - 2; ax >= 0; ax--) {
      for (let j = 0; j < k; j++) offs[j] += views[j]!.strides[ax]!;
      if (++idx[ax] < shape[ax]!) break;
      for (let j = 0; j < k; j++) offs[j] -= views[j]!.strides[ax]! * shape[ax]!;
      idx[ax] = 0;
    }
  }
}
