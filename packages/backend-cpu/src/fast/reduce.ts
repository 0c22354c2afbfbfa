/**
 * Fast float32 reduce_sum and reduce_mean over one run of axes, or two runs with kept axes
 * between them (wasm-reduce.ts): x seen as [lead, outer, k, inner] with lead and k reduced
 * (size-1 axes ignored), so a last-axis reduction is [rows, k] -> [rows], a linear layer's bias
 * gradient [k, cols] -> [cols], and a conv's bias gradient (sum over N, H, W of [N, C, H, W]) is
 * lead N, outer C, k H*W. Sums run in float64 like the reference kernel's (in another order), so
 * results agree with it to within one float32 ulp. Other axis sets stay with the reference kernel.
 */
import { normAxes, type Shape } from '@pockengine/core';
import type { CpuTensor } from '../tensor.js';
import { load, place, put, store, type Engine, type VectorOps } from './engine.js';

export interface ReduceLayout {
  /** A leading run of reduced axes in front of `outer` (1: none). */
  lead: number;
  outer: number;
  k: number;
  inner: number;
}

/**
 * [lead, outer, k, inner] of `shape` when its reduced axes (size-1 axes ignored) form one run
 * (lead 1) or two runs with kept axes between them; else null.
 */
export function reduceLayout(shape: Shape, axes: readonly number[]): ReduceLayout | null {
  const reduced = new Set(normAxes(axes, shape.length));
  // runs of reduced / kept axes, size-1 axes skipped, neighbours of one kind merged
  const runs: { reduced: boolean; size: number }[] = [];
  for (let ax = 0; ax < shape.length; ax++) {
    const d = shape[ax]!;
    if (d === 1) continue;
    const r = reduced.has(ax);
    const last = runs.at(-1);
    if (last && last.reduced === r) last.size *= d;
    else runs.push({ reduced: r, size: d });
  }
  const kinds = runs.map((r) => (r.reduced ? 'R' : 'K')).join('');
  const size = (i: number) => runs[i]!.size;
  switch (kinds) {
    case '':
      return { lead: 1, outer: 1, k: 1, inner: 1 };
    case 'K':
      return { lead: 1, outer: size(0), k: 1, inner: 1 };
    case 'R':
      return { lead: 1, outer: 1, k: size(0), inner: 1 };
    case 'KR':
      return { lead: 1, outer: size(0), k: size(1), inner: 1 };
    case 'RK':
      return { lead: 1, outer: 1, k: size(0), inner: size(1) };
    case 'KRK':
      return { lead: 1, outer: size(0), k: size(1), inner: size(2) };
    case 'RKR':
      return { lead: size(0), outer: size(1), k: size(2), inner: 1 };
    case 'RKRK':
      return { lead: size(0), outer: size(1), k: size(2), inner: size(3) };
    default:
      return null;
  }
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
  v.reduceSum({ x: xp, y: yp, ...layout, divisor: mean ? layout.lead * layout.k : 1 });
  store(e, yp, out);
}
