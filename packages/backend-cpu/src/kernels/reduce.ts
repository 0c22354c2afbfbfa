/**
 * Reductions, argmax, softmax and log-softmax. Axis reductions walk the input once in row-major
 * order and accumulate (in float64) into the keepdims-shaped output, which reads as the input
 * broadcast with stride 0 along the reduced axes. Softmax-style ops view the input as
 * [outer, d, inner] and work on whole inner rows so no inner loop is strided.
 */
import { normAxes, normAxis, reducedShape, size, type ReduceAttrs, type Shape } from '@pockengine/core';
import type { CpuKernelTable } from '../kernel-table.js';
import type { CpuTensor } from '../tensor.js';
import { broadcastView, forEachRow } from './broadcast.js';

/**
 * Sum over every axis but a contiguous block of kept ones (the per-channel sums of a bias
 * gradient over [N, C, H, W] -> [C], or a layer's batch sum): x seen as [outer, keep, inner],
 * summed with unit-stride inner loops. Null when the kept axes are not contiguous.
 */
function sumKeepingBlock(x: CpuTensor, axes: readonly number[]): Float64Array | null {
  const rank = x.shape.length;
  const kept = [...Array(rank).keys()].filter((a) => !axes.includes(a));
  if (kept.length === 0 || kept.at(-1)! - kept[0]! !== kept.length - 1) return null;
  const outer = size(x.shape.slice(0, kept[0]));
  const k = size(x.shape.slice(kept[0], kept.at(-1)! + 1));
  const inner = size(x.shape.slice(kept.at(-1)! + 1));
  const xd = x.data;
  const acc = new Float64Array(k);
  for (let o = 0; o < outer; o++)
    for (let c = 0; c < k; c++) {
      const base = (o * k + c) * inner;
      let s = 0;
      for (let i = base; i < base + inner; i++) s += xd[i]!;
      acc[c] += s;
    }
  return acc;
}

const add = (a: number, v: number) => a + v;

/** Folds x along `axes` into a float64 accumulator laid out like the (keepdims) output. */
function reduceInto(x: CpuTensor, attrs: ReduceAttrs, init: number, fold: (acc: number, v: number) => number): Float64Array {
  const axes = normAxes(attrs.axes, x.shape.length);
  if (init === 0 && fold === add) {
    const fast = sumKeepingBlock(x, axes);
    if (fast) return fast;
  }
  const keep = reducedShape(x.shape, axes, true);
  const acc = new Float64Array(size(keep)).fill(init);
  const xd = x.data;
  forEachRow(x.shape, [broadcastView(keep, x.shape)], (o, [iy], len, [sy]) => {
    for (let j = 0; j < len; j++) {
      const k = iy! + j * sy!;
      acc[k] = fold(acc[k]!, xd[o + j]!);
    }
  });
  return acc;
}

/** [outer, d, inner] view of `shape` around `axis`. */
function aroundAxis(shape: Shape, axis: number) {
  const ax = normAxis(axis, shape.length);
  return { outer: size(shape.slice(0, ax)), d: shape[ax]!, inner: size(shape.slice(ax + 1)) };
}

/**
 * Softmax (log = false) or log-softmax along `axis`, stabilised by subtracting the max:
 * softmax(x) = exp(x - max) / sum exp(x - max); log_softmax(x) = x - max - log(sum exp(x - max)).
 */
function softmaxAlong(x: CpuTensor, out: CpuTensor, axis: number, log: boolean): void {
  const { outer, d, inner } = aroundAxis(x.shape, axis);
  const xd = x.data;
  const od = out.data;
  const max = new Float64Array(inner);
  const sum = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    const base = o * d * inner;
    max.fill(-Infinity);
    sum.fill(0);
    for (let j = 0; j < d; j++) {
      const row = base + j * inner;
      for (let t = 0; t < inner; t++) max[t] = Math.max(max[t]!, xd[row + t]!);
    }
    for (let j = 0; j < d; j++) {
      const row = base + j * inner;
      for (let t = 0; t < inner; t++) sum[t] += Math.exp(xd[row + t]! - max[t]!);
    }
    for (let j = 0; j < d; j++) {
      const row = base + j * inner;
      if (log) for (let t = 0; t < inner; t++) od[row + t] = xd[row + t]! - max[t]! - Math.log(sum[t]!);
      else for (let t = 0; t < inner; t++) od[row + t] = Math.exp(xd[row + t]! - max[t]!) / sum[t]!;
    }
  }
}

export const reduceKernels = {
  reduce_sum: ([x], [out], attrs) => out!.data.set(reduceInto(x!, attrs, 0, add)),
  reduce_mean: ([x], [out], attrs) => {
    const acc = reduceInto(x!, attrs, 0, add);
    const count = size(x!.shape) / Math.max(1, acc.length);
    for (let i = 0; i < acc.length; i++) out!.data[i] = acc[i]! / count;
  },
  // Math.max propagates NaN, as torch.amax
  reduce_max: ([x], [out], attrs) => out!.data.set(reduceInto(x!, attrs, -Infinity, Math.max)),

  /** Index of the first maximum along `axis` (torch.argmax); NaN counts as the maximum, as torch. */
  argmax: ([x], [out], attrs) => {
    const { outer, d, inner } = aroundAxis(x!.shape, attrs.axis);
    const xd = x!.data;
    const od = out!.data;
    for (let o = 0; o < outer; o++)
      for (let t = 0; t < inner; t++) {
        let best = -Infinity;
        let arg = 0;
        for (let j = 0; j < d; j++) {
          const v = xd[(o * d + j) * inner + t]!;
          if (v !== v) {
            arg = j;
            break;
          }
          if (v > best) {
            best = v;
            arg = j;
          }
        }
        od[o * inner + t] = arg;
      }
  },

  softmax: ([x], [out], attrs) => softmaxAlong(x!, out!, attrs.axis, false),
  log_softmax: ([x], [out], attrs) => softmaxAlong(x!, out!, attrs.axis, true),
} satisfies Partial<CpuKernelTable>;
