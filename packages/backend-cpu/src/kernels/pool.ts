/**
 * Max and average pooling and their backward kernels over NCHW planes. Window geometry (output
 * size, ceil mode) comes from core's poolGeometry; only the window walk lives here.
 */
import { poolGeometry, type AvgPoolAttrs, type PoolGeometry } from '@pockengine/core';
import type { CpuKernelTable } from '../kernel-table.js';
import type { CpuData } from '../tensor.js';

/** Kernel taps k in [lo, hi) whose input index start + k*dilation lies in [0, size). */
function tapRange(start: number, k: number, dilation: number, size: number): [number, number] {
  const lo = Math.max(0, Math.ceil(-start / dilation));
  const hi = Math.min(k, Math.floor((size - 1 - start) / dilation) + 1);
  return [lo, Math.max(lo, hi)];
}

/**
 * Index (within the plane) of the first maximum of the window of output (oh, ow), scanning rows
 * then columns, or -1 for a window without input elements. Padding never wins (it is -inf), and a
 * NaN wins as in PyTorch, so NaNs propagate.
 */
function argmaxInWindow(x: CpuData, plane: number, g: PoolGeometry, oh: number, ow: number): number {
  const hs = oh * g.sh - g.padTop;
  const ws = ow * g.sw - g.padLeft;
  const [ki0, ki1] = tapRange(hs, g.kh, g.dh, g.h);
  const [kj0, kj1] = tapRange(ws, g.kw, g.dw, g.w);
  let best = -Infinity;
  let arg = -1;
  for (let ki = ki0; ki < ki1; ki++) {
    const row = (hs + ki * g.dh) * g.w;
    for (let kj = kj0; kj < kj1; kj++) {
      const i = row + ws + kj * g.dw;
      const v = x[plane + i]!;
      if (arg < 0 || v > best || Number.isNaN(v)) {
        best = v;
        arg = i;
        if (Number.isNaN(v)) return arg;
      }
    }
  }
  return arg;
}

function maxPool(x: CpuData, y: CpuData, g: PoolGeometry): void {
  const inPlane = g.h * g.w;
  for (let p = 0; p < g.n * g.c; p++)
    for (let oh = 0; oh < g.oh; oh++)
      for (let ow = 0; ow < g.ow; ow++) {
        const arg = argmaxInWindow(x, p * inPlane, g, oh, ow);
        y[(p * g.oh + oh) * g.ow + ow] = arg < 0 ? -Infinity : x[p * inPlane + arg]!;
      }
}

function maxPoolGrad(x: CpuData, dy: CpuData, dx: CpuData, g: PoolGeometry): void {
  dx.fill(0);
  const inPlane = g.h * g.w;
  for (let p = 0; p < g.n * g.c; p++)
    for (let oh = 0; oh < g.oh; oh++)
      for (let ow = 0; ow < g.ow; ow++) {
        const arg = argmaxInWindow(x, p * inPlane, g, oh, ow);
        if (arg >= 0) dx[p * inPlane + arg] += dy[(p * g.oh + oh) * g.ow + ow]!;
      }
}

/**
 * The input rectangle [h0,h1) x [w0,w1) of an average-pooling window and its divisor, as
 * PyTorch's avg_pool2d: with countIncludePad the divisor counts the padding, but not the part of a
 * ceil-mode window that overhangs the end padding; without it, only input elements count.
 */
function avgWindow(g: PoolGeometry, oh: number, ow: number, countIncludePad: boolean) {
  const hs = oh * g.sh - g.padTop;
  const ws = ow * g.sw - g.padLeft;
  const he = Math.min(hs + g.kh, g.h + g.padBottom);
  const we = Math.min(ws + g.kw, g.w + g.padRight);
  const padded = (he - hs) * (we - ws);
  const h0 = Math.max(hs, 0);
  const w0 = Math.max(ws, 0);
  const h1 = Math.min(he, g.h);
  const w1 = Math.min(we, g.w);
  const divisor = countIncludePad ? padded : Math.max(0, h1 - h0) * Math.max(0, w1 - w0);
  return { h0, h1, w0, w1, divisor };
}

function avgPool(x: CpuData, y: CpuData, g: PoolGeometry, a: AvgPoolAttrs): void {
  const inPlane = g.h * g.w;
  for (let p = 0; p < g.n * g.c; p++)
    for (let oh = 0; oh < g.oh; oh++)
      for (let ow = 0; ow < g.ow; ow++) {
        const { h0, h1, w0, w1, divisor } = avgWindow(g, oh, ow, a.countIncludePad);
        let sum = 0;
        for (let ih = h0; ih < h1; ih++) for (let iw = w0; iw < w1; iw++) sum += x[p * inPlane + ih * g.w + iw]!;
        y[(p * g.oh + oh) * g.ow + ow] = divisor > 0 ? sum / divisor : 0;
      }
}

function avgPoolGrad(dy: CpuData, dx: CpuData, g: PoolGeometry, a: AvgPoolAttrs): void {
  dx.fill(0);
  const inPlane = g.h * g.w;
  for (let p = 0; p < g.n * g.c; p++)
    for (let oh = 0; oh < g.oh; oh++)
      for (let ow = 0; ow < g.ow; ow++) {
        const { h0, h1, w0, w1, divisor } = avgWindow(g, oh, ow, a.countIncludePad);
        if (divisor === 0) continue;
        const share = dy[(p * g.oh + oh) * g.ow + ow]! / divisor;
        for (let ih = h0; ih < h1; ih++) for (let iw = w0; iw < w1; iw++) dx[p * inPlane + ih * g.w + iw] += share;
      }
}

export const poolKernels = {
  max_pool2d: ([x], [y], a) => maxPool(x!.data, y!.data, poolGeometry(x!.shape, a)),
  max_pool2d_grad: ([x, dy], [dx], a) => maxPoolGrad(x!.data, dy!.data, dx!.data, poolGeometry(x!.shape, a)),
  avg_pool2d: ([x], [y], a) => avgPool(x!.data, y!.data, poolGeometry(x!.shape, a), a),
  avg_pool2d_grad: ([dy], [dx], a) => avgPoolGrad(dy!.data, dx!.data, poolGeometry(a.inputShape, a), a),
} satisfies Partial<CpuKernelTable>;
