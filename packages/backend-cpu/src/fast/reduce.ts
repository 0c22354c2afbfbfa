/**
 * Fast float32 reduce_sum and reduce_mean over a contiguous run of axes (wasm-reduce.ts): x seen
 * as [outer, k, inner] with the reduced axes in the middle (size-1 axes ignored), so a last-axis
 * reduction is [rows, k] -> [rows] and a bias gradient's sum over the leading axes
 * [k, cols] -> [cols]. Sums run in float64 like the reference kernel's (in another order), so
 * results agree with it to within one float32 ulp. Other axis sets stay with the reference kernel.
 */
import { normAxes, type Shape } from '@pockengine/core';
import type { CpuTensor } from '../tensor.js';
import { load, place, put, store, type Engine, type VectorOps } from './engine.js';

export interface ReduceLayout {
  outer: number;
  k: number;
  inner: number;
}

/** [outer, k, inner] of `shape` when its reduced axes (size-1 axes ignored) are one contiguous run; else null. */
export function reduceLayout(shape: Shape, axes: readonly number[]): ReduceLayout | null {
  const reduced = new Set(normAxes(axes, shape.length));
  // 0: leading kept axes, 1: reduced axes, 2: trailing kept axes
  let phase = 0;
  const dims = [1, 1, 1];
  for (let ax = 0; ax < shape.length; ax++) {
    const d = shape[ax]!;
    if (d === 1) continue;
    const r = reduced.has(ax);
    if (r && phase === 2) return null;
    if (r) phase = 1;
    else if (phase === 1) phase = 2;
    dims[phase]! *= d;
  }
  return { outer: dims[0]!, k: dims[1]!, inner: dims[2]! };
}

/** out = the sum (or with `mean` the mean, as the reference: sum / count in float64) of x over the layout's k axis. */
export function reduceForward(e: Engine, v: VectorOps, x: CpuTensor, out: CpuTensor, layout: ReduceLayout, mean: boolean): void {
  const n = out.data.length;
  if (n === 0) return;
  e.reset();
  let xp = load(e, x);
  const yp = place(e, out);
  // never in a plan (reductions do not run in place): read an overlapping input from a copy
  if (xp < yp + n && yp < xp + x.data.length) xp = put(e, e.heap().slice(xp, xp + x.data.length));
  v.reduceSum({ x: xp, y: yp, ...layout, divisor: mean ? layout.k : 1 });
  store(e, yp, out);
}
