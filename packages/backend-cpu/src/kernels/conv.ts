/**
 * Direct-loop conv2d and its backward kernels. All three walk the same taps: for each
 * (image, output channel, input channel of its group, kernel row, kernel column) the output rows
 * and columns whose input position falls inside the image form a rectangle, computed once, so the
 * inner loops have no bounds checks and padding costs nothing. The geometry comes from core.
 */
import { convGeometry, type ConvGeometry } from '@pockengine/core';
import type { CpuKernelTable } from '../kernel-table.js';
import type { CpuData } from '../tensor.js';

/**
 * Output indices o in [lo, hi) whose input index o*stride - pad + k*dilation lies in [0, inSize).
 */
function validRange(k: number, stride: number, pad: number, dilation: number, inSize: number, outSize: number): [number, number] {
  const shift = k * dilation - pad;
  const lo = Math.max(0, Math.ceil(-shift / stride));
  const hi = Math.min(outSize, Math.floor((inSize - 1 - shift) / stride) + 1);
  return [lo, Math.max(lo, hi)];
}

/** One kernel tap applied to one (image, output channel, input channel) plane pair. */
interface Tap {
  /** Offset of the x plane (n, c) and of the y plane (n, m). */
  xPlane: number;
  yPlane: number;
  /** Index of the weight element w[m, c % cPerGroup, ki, kj]. */
  wIndex: number;
  /** Input row/column of output (0, 0) for this tap: ih = oh*sh + rowShift. */
  rowShift: number;
  colShift: number;
  oh0: number;
  oh1: number;
  ow0: number;
  ow1: number;
}

/** Calls `visit` for every tap of the convolution (the multiply-adds are done by the caller). */
function forEachTap(g: ConvGeometry, visit: (t: Tap) => void): void {
  const rows = Array.from({ length: g.kh }, (_, ki) => validRange(ki, g.sh, g.padTop, g.dh, g.h, g.oh));
  const cols = Array.from({ length: g.kw }, (_, kj) => validRange(kj, g.sw, g.padLeft, g.dw, g.w, g.ow));
  const t: Tap = { xPlane: 0, yPlane: 0, wIndex: 0, rowShift: 0, colShift: 0, oh0: 0, oh1: 0, ow0: 0, ow1: 0 };
  for (let n = 0; n < g.n; n++)
    for (let m = 0; m < g.m; m++) {
      const group = Math.floor(m / g.mPerGroup);
      t.yPlane = (n * g.m + m) * g.oh * g.ow;
      for (let cl = 0; cl < g.cPerGroup; cl++) {
        const c = group * g.cPerGroup + cl;
        t.xPlane = (n * g.c + c) * g.h * g.w;
        for (let ki = 0; ki < g.kh; ki++) {
          [t.oh0, t.oh1] = rows[ki]!;
          t.rowShift = ki * g.dh - g.padTop;
          for (let kj = 0; kj < g.kw; kj++) {
            [t.ow0, t.ow1] = cols[kj]!;
            t.colShift = kj * g.dw - g.padLeft;
            t.wIndex = ((m * g.cPerGroup + cl) * g.kh + ki) * g.kw + kj;
            visit(t);
          }
        }
      }
    }
}

function conv2d(x: CpuData, w: CpuData, bias: CpuData | undefined, y: CpuData, g: ConvGeometry): void {
  const plane = g.oh * g.ow;
  for (let nm = 0; nm < g.n * g.m; nm++) y.fill(bias ? bias[nm % g.m]! : 0, nm * plane, (nm + 1) * plane);
  forEachTap(g, (t) => {
    const wv = w[t.wIndex]!;
    for (let oh = t.oh0; oh < t.oh1; oh++) {
      const xRow = t.xPlane + (oh * g.sh + t.rowShift) * g.w + t.colShift;
      const yRow = t.yPlane + oh * g.ow;
      for (let ow = t.ow0; ow < t.ow1; ow++) y[yRow + ow] += wv * x[xRow + ow * g.sw]!;
    }
  });
}

/** dx[n, c, ih, iw] += w[m, c, ki, kj] * dy[n, m, oh, ow]: the transposed convolution. */
function conv2dGradInput(dy: CpuData, w: CpuData, dx: CpuData, g: ConvGeometry): void {
  dx.fill(0);
  forEachTap(g, (t) => {
    const wv = w[t.wIndex]!;
    for (let oh = t.oh0; oh < t.oh1; oh++) {
      const xRow = t.xPlane + (oh * g.sh + t.rowShift) * g.w + t.colShift;
      const yRow = t.yPlane + oh * g.ow;
      for (let ow = t.ow0; ow < t.ow1; ow++) dx[xRow + ow * g.sw] += wv * dy[yRow + ow]!;
    }
  });
}

/** dw[m, c, ki, kj] = sum over n, oh, ow of dy[n, m, oh, ow] * x[n, c, ih, iw]. */
function conv2dGradWeight(x: CpuData, dy: CpuData, dw: CpuData, g: ConvGeometry): void {
  dw.fill(0);
  forEachTap(g, (t) => {
    let acc = 0;
    for (let oh = t.oh0; oh < t.oh1; oh++) {
      const xRow = t.xPlane + (oh * g.sh + t.rowShift) * g.w + t.colShift;
      const yRow = t.yPlane + oh * g.ow;
      for (let ow = t.ow0; ow < t.ow1; ow++) acc += dy[yRow + ow]! * x[xRow + ow * g.sw]!;
    }
    dw[t.wIndex] += acc;
  });
}

/**
 * Runs `fn` accumulating in float64 and rounds once into `out`: the taps add partial sums into
 * the output plane, and rounding each of them to float32 loses more than PyTorch's float32
 * convolution does (measured on the reference CNNs, whose BN/ReLU6 stacks amplify it).
 */
function accumulate64(out: CpuData, fn: (acc: CpuData) => void): void {
  if (out instanceof Float64Array) return fn(out);
  const acc = new Float64Array(out.length);
  fn(acc);
  out.set(acc);
}

/** The fused activation of a conv2d (set by the fusion pass), applied in place. */
function activate(y: CpuData, act: 'relu' | 'relu6' | null | undefined): void {
  if (!act) return;
  const hi = act === 'relu6' ? 6 : Infinity;
  for (let i = 0; i < y.length; i++) {
    const v = y[i]!;
    y[i] = v < 0 ? 0 : v > hi ? hi : v; // NaN stays NaN, as clip / relu
  }
}

export const convKernels = {
  conv2d: ([x, w, b], [y], a) => {
    accumulate64(y!.data, (acc) => conv2d(x!.data, w!.data, b?.data, acc, convGeometry(x!.shape, w!.shape, a)));
    activate(y!.data, a.activation);
  },
  conv2d_grad_input: ([dy, w], [dx], a) =>
    accumulate64(dx!.data, (acc) => conv2dGradInput(dy!.data, w!.data, acc, convGeometry(a.inputShape, w!.shape, a))),
  conv2d_grad_weight: ([x, dy], [dw], a) =>
    accumulate64(dw!.data, (acc) => conv2dGradWeight(x!.data, dy!.data, acc, convGeometry(x!.shape, a.weightShape, a))),
} satisfies Partial<CpuKernelTable>;
