/**
 * Layout. TF.js tensors are NHWC; the IR's conv2d / pooling / batch_norm ops are NCHW.
 *
 * The choice: params keep their TF.js layout (conv kernels HWIO, depthwise kernels HW-C-M,
 * dense kernels [in, out]), so param names, shapes and gradients round-trip to model.json
 * unchanged; the graph converts a kernel with a transpose (and reshape) op where a conv reads it.
 * Activations are tracked with their physical layout: a rank-4 tensor produced by a conv or
 * pool stays NCHW through the following elementwise / BN / pool / padding / concat ops, and is
 * transposed back to NHWC only where the TF.js layout matters (Flatten, Reshape, Dense on 4-D
 * input, a model output). Graph inputs and outputs are NHWC, exactly as TF.js feeds and returns them.
 */
import { PockError, tensor, type ErrorLocation, type GraphBuilder, type ValueId } from '@pockengine/core';

/** A TF.js tensor during import: its IR value and whether that value is stored NCHW. */
export interface Act {
  readonly v: ValueId;
  /** true: `v` holds the NHWC tensor transposed to NCHW (rank 4 only). */
  readonly nchw: boolean;
  /** Cached value in the other layout (created on first request). */
  other?: ValueId;
  /** Keras mask ([batch, time] bool: false on padded steps) from Embedding(maskZero) or Masking. */
  mask?: ValueId;
}

export const NHWC_TO_NCHW = [0, 3, 1, 2] as const;
export const NCHW_TO_NHWC = [0, 2, 3, 1] as const;

export const act = (v: ValueId, nchw = false, mask?: ValueId): Act => (mask === undefined ? { v, nchw } : { v, nchw, mask });

/** The tensor in TF.js layout (NHWC for rank 4). */
export function nhwc(b: GraphBuilder, t: Act): ValueId {
  if (!t.nchw) return t.v;
  t.other ??= b.transpose(t.v, NCHW_TO_NHWC);
  return t.other;
}

/** The tensor as NCHW (it must be rank 4). */
export function nchw(b: GraphBuilder, t: Act, where: ErrorLocation = {}): ValueId {
  if (t.nchw) return t.v;
  if (b.rank(t.v) !== 4) throw new PockError('shape', `expects a rank-4 NHWC tensor, got shape [${b.shape(t.v)}]`, where);
  t.other ??= b.transpose(t.v, NHWC_TO_NCHW);
  return t.other;
}

/** TF.js (source) shape of a tensor. */
export function sourceShape(b: GraphBuilder, t: Act): number[] {
  const s = b.shape(t.v);
  return t.nchw ? NCHW_TO_NHWC.map((i) => s[i]!) : [...s];
}

/** Physical axis of source axis `axis` (may be negative) of a tensor. */
export function physicalAxis(b: GraphBuilder, t: Act, axis: number): number {
  const r = b.rank(t.v);
  const a = axis < 0 ? axis + r : axis;
  return t.nchw ? NHWC_TO_NCHW.indexOf(a as 0 | 1 | 2 | 3) : a;
}

/**
 * Operands of a broadcasting elementwise op in one layout. If some rank-4 operand is NCHW the
 * op runs NCHW: rank-4 operands are converted, and lower-rank operands (which broadcast against
 * the trailing TF.js axes, e.g. a per-channel [C]) are reshaped to rank 4 and transposed.
 */
export function aligned(b: GraphBuilder, ts: readonly Act[]): { vals: ValueId[]; nchw: boolean } {
  const useNchw = ts.some((t) => t.nchw) && ts.every((t) => b.rank(t.v) <= 4);
  if (!useNchw) return { vals: ts.map((t) => nhwc(b, t)), nchw: false };
  const vals = ts.map((t) => {
    if (t.nchw) return t.v;
    const s = b.shape(t.v);
    if (s.length === 0) return t.v;
    if (s.length === 4) return nchw(b, t);
    const four = b.reshape(t.v, [...new Array<number>(4 - s.length).fill(1), ...s]);
    const s4 = b.shape(four);
    // a [1,1,1,C] or [1,1,1,1] operand only needs a reshape
    if (s4[1] === 1 && s4[2] === 1) return b.reshape(four, [s4[0]!, s4[3]!, 1, 1]);
    return b.transpose(four, NHWC_TO_NCHW);
  });
  return { vals, nchw: true };
}

/**
 * TF 'SAME' / 'VALID' padding for one spatial axis (tensorflow/core/framework/kernel_shape_util.cc
 * GetWindowedOutputSize): SAME gives out = ceil(in / stride) and pads
 * total = max((out - 1) * stride + (k - 1) * dilation + 1 - in, 0), with floor(total / 2) before
 * and the rest (the extra pixel) after, i.e. on the bottom / right.
 */
export function tfPad1d(padding: string, inSize: number, k: number, stride: number, dilation: number): [number, number] {
  if (padding === 'valid') return [0, 0];
  const out = Math.ceil(inSize / stride);
  const total = Math.max((out - 1) * stride + (k - 1) * dilation + 1 - inSize, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

/** [top, left, bottom, right] for a 2-D window over spatial size [h, w]. */
export function tfPads2d(padding: string, hw: readonly number[], k: readonly number[], strides: readonly number[], dil: readonly number[] = [1, 1]): number[] {
  const [t, bt] = tfPad1d(padding, hw[0]!, k[0]!, strides[0]!, dil[0]!);
  const [l, r] = tfPad1d(padding, hw[1]!, k[1]!, strides[1]!, dil[1]!);
  return [t, l, bt, r];
}

export interface ConvSpec {
  strides: readonly number[];
  dilations: readonly number[];
  /** 'same' | 'valid', or explicit [top, left, bottom, right]. */
  padding: string | readonly number[];
}

function convPads(b: GraphBuilder, x: ValueId, k: readonly number[], spec: ConvSpec): number[] {
  if (typeof spec.padding !== 'string') return [...spec.padding];
  const s = b.shape(x);
  return tfPads2d(spec.padding, [s[2]!, s[3]!], k, spec.strides, spec.dilations);
}

/** conv2d of x with an HWIO kernel param (+ bias [O]); result NCHW. */
export function convHwio(b: GraphBuilder, x: Act, kernel: ValueId, bias: ValueId | null, spec: ConvSpec, where: ErrorLocation = {}): Act {
  const xv = nchw(b, x, where);
  const k = b.shape(kernel);
  if (k.length !== 4) throw new PockError('shape', `conv kernel must be HWIO (rank 4), got [${k}]`, where);
  const w = b.transpose(kernel, [3, 2, 0, 1]);
  const inputs = bias === null ? [xv, w] : [xv, w, bias];
  const pads = convPads(b, xv, [k[0]!, k[1]!], spec);
  return act(b.op1('conv2d', inputs, { strides: [...spec.strides], pads, dilations: [...spec.dilations], groups: 1 }), true);
}

/**
 * Transposed conv2d (tf.conv2dTranspose, Keras Conv2DTranspose) of x with a [kh, kw, F, C] kernel
 * (+ bias [F]); result NCHW [N, F, OH, OW]. It is the input gradient of the conv2d that maps
 * [N, F, OH, OW] to x with that kernel read as HWIO (I = F, O = C), so it lowers to
 * conv2d_grad_input with that conv's TF padding; OH = H * stride (+ max(k - stride, 0) for 'valid'),
 * as tfjs-layers' deconvLength, unless outSize gives it (TF's Conv2DBackpropInput input_sizes).
 */
export function convTransposeHwoi(b: GraphBuilder, x: Act, kernel: ValueId, bias: ValueId | null, spec: ConvSpec, where: ErrorLocation = {}, outSize?: readonly [number, number]): Act {
  const xv = nchw(b, x, where);
  const k = b.shape(kernel);
  if (k.length !== 4) throw new PockError('shape', `transposed conv kernel must be [kh, kw, filters, in_channels], got [${k}]`, where);
  const [kh, kw, f, c] = k as [number, number, number, number];
  const [n, cx, h, w] = b.shape(xv) as [number, number, number, number];
  if (cx !== c) throw new PockError('shape', `kernel [${k}] expects ${c} input channels, the input has ${cx}`, where);
  const padding = spec.padding;
  if (typeof padding !== 'string' && !outSize) throw new PockError('attr', 'explicit padding is not supported for a transposed conv', where);
  const out = outSize
    ? [...outSize]
    : [h, w].map((d, i) => d * spec.strides[i]! + (padding === 'valid' ? Math.max([kh, kw][i]! - spec.strides[i]!, 0) : 0));
  const pads = typeof padding === 'string' ? tfPads2d(padding, out, [kh, kw], spec.strides, spec.dilations) : [...padding];
  // the adjoint conv must map the output back onto exactly x's size
  const eff = [kh, kw].map((k, i) => (k - 1) * spec.dilations[i]! + 1);
  const back = [0, 1].map((i) => Math.floor((out[i]! + pads[i]! + pads[i + 2]! - eff[i]!) / spec.strides[i]!) + 1);
  if (back[0] !== h || back[1] !== w) throw new PockError('shape', `a ${out[0]}x${out[1]} output does not convolve back to the ${h}x${w} input with this kernel, stride and padding`, where);
  const wt = b.transpose(kernel, [3, 2, 0, 1]); // [C, F, kh, kw]: conv2d's [M, C/groups, kh, kw] of the adjoint conv
  let y = b.op1('conv2d_grad_input', [xv, wt], { strides: [...spec.strides], pads, dilations: [...spec.dilations], groups: 1, inputShape: [n, f, out[0]!, out[1]!] });
  if (bias !== null) y = b.add(y, b.reshape(bias, [f, 1, 1]));
  return act(y, true);
}

/**
 * Depthwise conv2d of x with a [kh, kw, C, M] kernel (+ bias [C*M]); result NCHW. TF's output
 * channel c*M + m is filter m of input channel c, which is exactly a grouped conv with groups = C
 * and weight [C*M, 1, kh, kw] (weight row c*M + m belongs to group c).
 */
export function convDepthwise(b: GraphBuilder, x: Act, kernel: ValueId, bias: ValueId | null, spec: ConvSpec, where: ErrorLocation = {}): Act {
  const xv = nchw(b, x, where);
  const k = b.shape(kernel);
  if (k.length !== 4) throw new PockError('shape', `depthwise kernel must be [kh, kw, C, M], got [${k}]`, where);
  const [kh, kw, c, m] = k as [number, number, number, number];
  const w = b.reshape(b.transpose(kernel, [2, 3, 0, 1]), [c * m, 1, kh, kw]);
  const inputs = bias === null ? [xv, w] : [xv, w, bias];
  const pads = convPads(b, xv, [kh, kw], spec);
  return act(b.op1('conv2d', inputs, { strides: [...spec.strides], pads, dilations: [...spec.dilations], groups: c }), true);
}

/**
 * Max / average pooling with TF semantics: padded cells never win a max and are not counted in
 * an average (TF's AvgPool divides by the number of real cells in the window).
 */
export function pool2d(b: GraphBuilder, x: Act, kind: 'max' | 'avg', kernel: readonly number[], strides: readonly number[], padding: string, where: ErrorLocation = {}): Act {
  const xv = nchw(b, x, where);
  const s = b.shape(xv);
  const pads = tfPads2d(padding, [s[2]!, s[3]!], kernel, strides);
  const common = { kernel: [...kernel], strides: [...strides], pads, ceilMode: false };
  const y =
    kind === 'max'
      ? b.op1('max_pool2d', [xv], { ...common, dilations: [1, 1] })
      : b.op1('avg_pool2d', [xv], { ...common, countIncludePad: false });
  return act(y, true);
}

/** Adds a per-channel bias [C] along the TF.js last axis. */
export function addChannelBias(b: GraphBuilder, x: Act, bias: ValueId): Act {
  if (x.nchw) return act(b.add(x.v, b.reshape(bias, [b.shape(bias)[0]!, 1, 1])), true);
  return act(b.add(x.v, bias));
}

interface Taps {
  lo: number[];
  hi?: number[];
  /** Weight of `hi` (bilinear); `lo` gets 1 - frac. */
  frac?: number[];
}

function taps(kind: 'bilinear' | 'nearest', inSize: number, outSize: number, alignCorners: boolean, halfPixel: boolean): Taps {
  const ac = alignCorners && outSize > 1;
  const ratio = (ac ? inSize - 1 : inSize) / (ac ? outSize - 1 : outSize);
  const lo: number[] = [];
  const hi: number[] = [];
  const frac: number[] = [];
  for (let o = 0; o < outSize; o++) {
    if (kind === 'nearest') {
      const f = halfPixel ? ratio * (o + 0.5) : ratio * o;
      let i = Math.min(inSize - 1, alignCorners ? Math.round(f) : Math.floor(f));
      if (halfPixel) i = Math.max(0, i);
      lo.push(i);
      continue;
    }
    const f = halfPixel ? ratio * (o + 0.5) - 0.5 : ratio * o;
    const i0 = Math.max(0, Math.floor(f));
    lo.push(i0);
    hi.push(Math.min(inSize - 1, Math.ceil(f)));
    frac.push(f - i0);
  }
  return kind === 'nearest' ? { lo } : { lo, hi, frac };
}

/** Rows `idx` of axis `axis` of x (a gather with a constant index list named `name`). */
export function gatherRows(b: GraphBuilder, x: ValueId, axis: number, idx: readonly number[], name: string): ValueId {
  return b.op1('gather', [x, b.constant(tensor('int32', [idx.length], [...idx]), name)], { axis });
}

/** Resizes axis `axis` (2 or 3) of an NCHW tensor. */
function resizeAxis(b: GraphBuilder, x: ValueId, axis: 2 | 3, t: Taps, name: string): ValueId {
  const n = t.lo.length;
  const gather = (idx: number[], tag: string) => gatherRows(b, x, axis, idx, `${name}/${tag}`);
  const g0 = gather(t.lo, `axis${axis}/lo`);
  if (!t.hi) return g0;
  if (t.hi.every((v, i) => v === t.lo[i]) || t.frac!.every((f) => f === 0)) return g0;
  const wShape = axis === 2 ? [n, 1] : [n];
  const dt = b.dtype(x) === 'float64' ? 'float64' : 'float32';
  const w1 = b.constant(tensor(dt, wShape, t.frac!), `${name}/axis${axis}/w1`);
  const w0 = b.constant(tensor(dt, wShape, t.frac!.map((f) => 1 - f)), `${name}/axis${axis}/w0`);
  return b.add(b.mul(g0, w0), b.mul(gather(t.hi, `axis${axis}/hi`), w1));
}

/**
 * tf.image.resizeBilinear / resizeNearestNeighbor of an NCHW tensor to [outH, outW], sampled as
 * TF.js's kernels sample (align_corners, half_pixel_centers). Each resized axis is a gather of the
 * source rows (nearest) or of the two rows around each sample weighted by its fraction
 * (bilinear); indices and weights are constants computed from the static sizes, so the IR sees
 * only gathers, multiplies and adds, and their gradients.
 */
export function resizeNchw(b: GraphBuilder, x: ValueId, kind: 'bilinear' | 'nearest', size: readonly [number, number], alignCorners: boolean, halfPixel: boolean, name: string): ValueId {
  const [, , h, w] = b.shape(x) as [number, number, number, number];
  let y = x;
  // the width first: the height gathers then read the already-resized rows; an unchanged size
  // samples every row once, in place, under all three conventions
  if (size[1] !== w) y = resizeAxis(b, y, 3, taps(kind, w, size[1], alignCorners, halfPixel), name);
  if (size[0] !== h) y = resizeAxis(b, y, 2, taps(kind, h, size[0], alignCorners, halfPixel), name);
  return y;
}
