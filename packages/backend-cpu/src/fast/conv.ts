/**
 * Fast float32 conv2d and its two backward ops on an Engine, as GEMMs per (image, group):
 *
 *   forward      Y[n,g]  (mg x ohw)  = W[g] (mg x ckk) * col(X[n,g]) (ckk x ohw)   + bias, act
 *   grad_input   dcol    (ckk x ohw) = W[g]^T * dY[n,g];  dX[n,g] = col2im(dcol)
 *   grad_weight  dW[g]   (mg x ckk) += dY[n,g] * col(X[n,g])^T                   (summed over n)
 *
 * with ckk = C/groups * kh * kw (the im2col lowering, as in Caffe / PyTorch's slow_conv2d). A 1x1
 * conv with unit stride and no padding needs no im2col: X[n,g] already is the col matrix.
 * Pointwise convs on small planes run one GEMM over the whole batch (see foldsBatch).
 * Depthwise convs (one input and one output channel per group) skip the GEMM (a 1 x 9 by
 * 9 x ohw product per plane wastes the register tiles) and use the engine's direct kernel.
 * Geometry comes from core's convGeometry; transposes are GEMM strides, not copies.
 */
import { convGeometry, type AttrsOf, type ConvAttrs, type ConvGeometry } from '@pockengine/core';
import type { CpuTensor } from '../tensor.js';
import { load, place, placeZeroed, store, type DepthwiseCall, type Engine, type FusedActivation, type Im2colCall } from './engine.js';
import { GEMM_ACCUMULATE, GEMM_RELU, GEMM_RELU6, GEMM_ROW_BIAS } from './wasm-gemm.js';

const ACT_FLAGS: Record<FusedActivation, number> = { none: 0, relu: GEMM_RELU, relu6: GEMM_RELU | GEMM_RELU6 };

/** One input and one output channel per group: the direct depthwise kernel applies. */
export function isDepthwise(g: ConvGeometry): boolean {
  return g.groups > 1 && g.cPerGroup === 1 && g.mPerGroup === 1;
}

/** 1x1, stride 1, no padding: the input planes are the col matrix. */
function isPointwise(g: ConvGeometry): boolean {
  return g.kh === 1 && g.kw === 1 && g.sh === 1 && g.sw === 1 && g.padTop === 0 && g.padLeft === 0 && g.oh === g.h && g.ow === g.w;
}

/**
 * Pointwise convs on small planes (the late layers: 6x6, 3x3) make per-image GEMMs only a few
 * columns wide, below the register tile. They run as ONE GEMM over the whole batch instead, on
 * a [channels, batch * plane] copy of the operands (a cheap transposition: the planes are small).
 */
const FOLD_MAX_PLANE = 64;

function foldsBatch(g: ConvGeometry): boolean {
  return isPointwise(g) && g.groups === 1 && g.n > 1 && g.oh * g.ow <= FOLD_MAX_PLANE;
}

/**
 * [n, c, hw] at src <-> [c, n * hw] at dst (toFolded) or the reverse: one strided copy on the
 * engine's vector primitives, else row copies.
 */
function moveBlocks(e: Engine, src: number, dst: number, n: number, c: number, hw: number, toFolded: boolean): void {
  const plain: [number, number, number, number] = [0, c * hw, hw, 1];
  const folded: [number, number, number, number] = [0, hw, n * hw, 1];
  const [xs, ys] = toFolded ? [plain, folded] : [folded, plain];
  if (e.vector) return e.vector.copy({ x: src, y: dst, dims: [1, n, c, hw], xStrides: xs, yStrides: ys });
  const h = e.heap();
  for (let i = 0; i < n; i++)
    for (let j = 0; j < c; j++) {
      const from = src + i * xs[1] + j * xs[2];
      h.copyWithin(dst + i * ys[1] + j * ys[2], from, from + hw);
    }
}

/** [n, c, hw] at src -> [c, n * hw] at fresh scratch. */
function fold(e: Engine, src: number, n: number, c: number, hw: number): number {
  const dst = e.alloc(n * c * hw);
  moveBlocks(e, src, dst, n, c, hw, true);
  return dst;
}

/** [c, n * hw] at src -> [n, c, hw] at dst. */
function unfold(e: Engine, src: number, dst: number, n: number, c: number, hw: number): void {
  moveBlocks(e, src, dst, n, c, hw, false);
}

/**
 * dst [n, rows, hw] = A (rows x channels, strides rsA / csA) * src [n, channels, hw], per image, as
 * ONE GEMM over the folded batch (forward: A = W; grad_input: A = W^T).
 */
function foldedGemm(e: Engine, g: ConvGeometry, a: { a: number; rsA: number; csA: number; rows: number; channels: number }, src: number, dst: number, flags = 0, bias = 0): void {
  const hw = g.oh * g.ow;
  const cols = g.n * hw;
  const out = e.alloc(a.rows * cols);
  e.gemm({ m: a.rows, n: cols, k: a.channels, a: a.a, rsA: a.rsA, csA: a.csA, b: fold(e, src, g.n, a.channels, hw), rsB: cols, csB: 1, c: out, ldc: cols, flags, bias });
  unfold(e, out, dst, g.n, a.rows, hw);
}

function im2colCall(g: ConvGeometry, x: number, col: number): Im2colCall {
  const { h, w, oh, ow, kh, kw, sh, sw, dh, dw, padTop, padLeft } = g;
  return { x, col, channels: g.cPerGroup, h, w, oh, ow, kh, kw, sh, sw, dh, dw, padTop, padLeft };
}

function depthwiseCall(g: ConvGeometry, p: Partial<DepthwiseCall>): DepthwiseCall {
  const { h, w, oh, ow, kh, kw, sh, sw, dh, dw, padTop, padLeft } = g;
  return { x: 0, weights: 0, bias: 0, y: 0, dy: 0, flags: 0, batch: g.n, channels: g.c, h, w, oh, ow, kh, kw, sh, sw, dh, dw, padTop, padLeft, ...p };
}

/**
 * With unit strides the input gradient of a depthwise conv is itself a depthwise conv, of dy with
 * the spatially flipped filters and pads (k-1)*d - p (the transposed convolution, Dumoulin &
 * Visin, "A guide to convolution arithmetic", 2016, section 4.1): the gather form, no scatter.
 * Returns null when that needs negative pads (pads wider than the kernel extent) or strides > 1.
 */
function flippedDepthwise(e: Engine, g: ConvGeometry, wp: number): { geometry: ConvGeometry; weights: number } | null {
  if (g.sh !== 1 || g.sw !== 1) return null;
  const top = (g.kh - 1) * g.dh - g.padTop;
  const left = (g.kw - 1) * g.dw - g.padLeft;
  const bottom = g.h - 1 + (g.kh - 1) * g.dh - top - (g.oh - 1);
  const right = g.w - 1 + (g.kw - 1) * g.dw - left - (g.ow - 1);
  if (Math.min(top, left, bottom, right) < 0) return null;
  const taps = g.kh * g.kw;
  const weights = e.alloc(g.c * taps);
  const h = e.heap();
  for (let c = 0; c < g.c; c++)
    for (let t = 0; t < taps; t++) h[weights + c * taps + taps - 1 - t] = h[wp + c * taps + t]!;
  return { geometry: { ...g, h: g.oh, w: g.ow, oh: g.h, ow: g.w, padTop: top, padLeft: left }, weights };
}

/** y = act(conv(x, w) + bias): all float32 tensors. */
export function conv2dForward(e: Engine, x: CpuTensor, w: CpuTensor, bias: CpuTensor | undefined, y: CpuTensor, attrs: ConvAttrs, act: FusedActivation = 'none'): void {
  const g = convGeometry(x.shape, w.shape, attrs);
  e.reset();
  const xp = load(e, x);
  const wp = load(e, w);
  const bp = bias ? load(e, bias) : 0;
  const yp = place(e, y);
  const flags = (bias ? GEMM_ROW_BIAS : 0) | ACT_FLAGS[act];
  if (isDepthwise(g)) {
    e.depthwise('forward', depthwiseCall(g, { x: xp, weights: wp, bias: bp, y: yp, flags }));
    return store(e, yp, y);
  }
  const ckk = g.cPerGroup * g.kh * g.kw;
  const ohw = g.oh * g.ow;
  if (foldsBatch(g)) {
    foldedGemm(e, g, { a: wp, rsA: g.c, csA: 1, rows: g.m, channels: g.c }, xp, yp, flags, bp);
    return store(e, yp, y);
  }
  if (isPointwise(g)) {
    // the input planes are the col matrices: per group, one batched GEMM over the images
    for (let grp = 0; grp < g.groups; grp++)
      e.gemm({
        m: g.mPerGroup, n: ohw, k: ckk,
        a: wp + grp * g.mPerGroup * ckk, rsA: ckk, csA: 1,
        b: xp + grp * g.cPerGroup * ohw, rsB: ohw, csB: 1,
        c: yp + grp * g.mPerGroup * ohw, ldc: ohw,
        flags, bias: bp + grp * g.mPerGroup,
        batch: { count: g.n, strideA: 0, strideB: g.c * ohw, strideC: g.m * ohw },
      });
    return store(e, yp, y);
  }
  const col = e.alloc(ckk * ohw);
  for (let n = 0; n < g.n; n++)
    for (let grp = 0; grp < g.groups; grp++) {
      e.im2col(im2colCall(g, xp + (n * g.c + grp * g.cPerGroup) * g.h * g.w, col));
      e.gemm({
        m: g.mPerGroup, n: ohw, k: ckk,
        a: wp + grp * g.mPerGroup * ckk, rsA: ckk, csA: 1,
        b: col, rsB: ohw, csB: 1,
        c: yp + (n * g.m + grp * g.mPerGroup) * ohw, ldc: ohw,
        flags, bias: bp + grp * g.mPerGroup,
      });
    }
  store(e, yp, y);
}

/** dx of conv2d from dy and w. */
export function conv2dGradInput(e: Engine, dy: CpuTensor, w: CpuTensor, dx: CpuTensor, attrs: AttrsOf<'conv2d_grad_input'>): void {
  const g = convGeometry(attrs.inputShape, w.shape, attrs);
  e.reset();
  const dyp = load(e, dy);
  const wp = load(e, w);
  if (isDepthwise(g)) {
    const dxp = place(e, dx);
    const flipped = flippedDepthwise(e, g, wp);
    if (flipped) e.depthwise('forward', { ...depthwiseCall(flipped.geometry, { x: dyp, weights: flipped.weights, y: dxp }) });
    else e.depthwise('grad_input', depthwiseCall(g, { dy: dyp, weights: wp, y: dxp }));
    return store(e, dxp, dx);
  }
  const ckk = g.cPerGroup * g.kh * g.kw;
  const ohw = g.oh * g.ow;
  if (foldsBatch(g)) {
    const dxp = place(e, dx);
    // W^T: element (i, p) = W[p, i]
    foldedGemm(e, g, { a: wp, rsA: 1, csA: g.c, rows: g.c, channels: g.m }, dyp, dxp);
    return store(e, dxp, dx);
  }
  if (isPointwise(g)) {
    const dxp = place(e, dx);
    // W[g]^T: element (i, p) = W[g][p, i]; per group, one batched GEMM over the images
    for (let grp = 0; grp < g.groups; grp++)
      e.gemm({
        m: ckk, n: ohw, k: g.mPerGroup,
        a: wp + grp * g.mPerGroup * ckk, rsA: 1, csA: ckk,
        b: dyp + grp * g.mPerGroup * ohw, rsB: ohw, csB: 1,
        c: dxp + grp * g.cPerGroup * ohw, ldc: ohw,
        flags: 0, bias: 0,
        batch: { count: g.n, strideA: 0, strideB: g.m * ohw, strideC: g.c * ohw },
      });
    return store(e, dxp, dx);
  }
  const dxp = placeZeroed(e, dx);
  const col = e.alloc(ckk * ohw);
  for (let n = 0; n < g.n; n++)
    for (let grp = 0; grp < g.groups; grp++) {
      const dxg = dxp + (n * g.c + grp * g.cPerGroup) * g.h * g.w;
      // W[g]^T: element (i, p) = W[g][p, i], so row stride 1 and column stride ckk
      e.gemm({
        m: ckk, n: ohw, k: g.mPerGroup,
        a: wp + grp * g.mPerGroup * ckk, rsA: 1, csA: ckk,
        b: dyp + (n * g.m + grp * g.mPerGroup) * ohw, rsB: ohw, csB: 1,
        c: col, ldc: ohw,
        flags: 0, bias: 0,
      });
      e.col2im(im2colCall(g, dxg, col));
    }
  store(e, dxp, dx);
}

/** dw of conv2d from x and dy. */
export function conv2dGradWeight(e: Engine, x: CpuTensor, dy: CpuTensor, dw: CpuTensor, attrs: AttrsOf<'conv2d_grad_weight'>): void {
  const g = convGeometry(x.shape, attrs.weightShape, attrs);
  e.reset();
  const xp = load(e, x);
  const dyp = load(e, dy);
  const dwp = place(e, dw);
  if (isDepthwise(g)) {
    e.depthwise('grad_weight', depthwiseCall(g, { x: xp, dy: dyp, y: dwp }));
    return store(e, dwp, dw);
  }
  const ckk = g.cPerGroup * g.kh * g.kw;
  const ohw = g.oh * g.ow;
  if (foldsBatch(g)) {
    const cols = g.n * ohw;
    // dW = dYf Xf^T: one GEMM with the batch in the reduction
    const xf = fold(e, xp, g.n, g.c, ohw);
    e.gemm({ m: g.m, n: g.c, k: cols, a: fold(e, dyp, g.n, g.m, ohw), rsA: cols, csA: 1, b: xf, rsB: 1, csB: cols, c: dwp, ldc: g.c, flags: 0, bias: 0 });
    return store(e, dwp, dw);
  }
  if (isPointwise(g)) {
    // x^T per image: element (p, j) = x[j, p]; per group, dW = sum over the images of dY_n x_n^T
    // as one batched GEMM whose products add up into dW
    for (let grp = 0; grp < g.groups; grp++)
      e.gemm({
        m: g.mPerGroup, n: ckk, k: ohw,
        a: dyp + grp * g.mPerGroup * ohw, rsA: ohw, csA: 1,
        b: xp + grp * g.cPerGroup * ohw, rsB: 1, csB: ohw,
        c: dwp + grp * g.mPerGroup * ckk, ldc: ckk,
        flags: 0, bias: 0,
        batch: { count: g.n, strideA: g.m * ohw, strideB: g.c * ohw, strideC: 0, sum: true },
      });
    return store(e, dwp, dw);
  }
  const col = e.alloc(ckk * ohw);
  for (let n = 0; n < g.n; n++)
    for (let grp = 0; grp < g.groups; grp++) {
      e.im2col(im2colCall(g, xp + (n * g.c + grp * g.cPerGroup) * g.h * g.w, col));
      // col^T: element (p, j) = col[j, p], so row stride 1 and column stride ohw
      e.gemm({
        m: g.mPerGroup, n: ckk, k: ohw,
        a: dyp + (n * g.m + grp * g.mPerGroup) * ohw, rsA: ohw, csA: 1,
        b: col, rsB: 1, csB: ohw,
        c: dwp + grp * g.mPerGroup * ckk, ldc: ckk,
        flags: n > 0 ? GEMM_ACCUMULATE : 0, bias: 0,
      });
    }
  store(e, dwp, dw);
}
