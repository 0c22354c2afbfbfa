/**
 * Convolution and pooling (https://onnx.ai/onnx/operators/onnx__Conv.html, MaxPool, AveragePool,
 * GlobalAveragePool). The IR has 2-D ops only: 1-D ones run as 2-D with H = 1, and 3-D ones as a
 * sum (conv), maximum (max pool) or mean (average pool) over the kernel's depth taps of 2-D ops on
 * depth slices folded into the batch. auto_pad is resolved to explicit pads here, so the IR never
 * sees it.
 */
import { tensor, type ValueId } from '@pockengine/core';
import type { NodeContext } from '../context.js';
import type { HandlerTable } from './types.js';

interface Window {
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** [top, left, bottom, right] */
  pads: number[];
  /** Whether the op was 1-D (x was reshaped to [N, C, 1, L]). */
  oneD: boolean;
}

/**
 * Reads kernel_shape / strides / dilations / pads / auto_pad for an input of `spatial` dims and
 * returns them in 2-D form. SAME_UPPER / SAME_LOWER give output = ceil(in / stride), with the
 * odd pixel of padding at the end (UPPER) or the beginning (LOWER).
 */
function window(ctx: NodeContext, spatialIn: readonly number[], kernelFromWeight?: readonly number[]): Window {
  const r = spatialIn.length;
  if (r !== 1 && r !== 2) ctx.fail(`only 1-D, 2-D and 3-D ${ctx.node.opType} are supported (input has ${r} spatial dims)`, 'shape');
  const { kernel, strides, dilations, pads } = windowAttrs(ctx, spatialIn, kernelFromWeight);
  if (r === 2) return { kernel, strides, dilations, pads, oneD: false };
  return { kernel: [1, kernel[0]!], strides: [1, strides[0]!], dilations: [1, dilations[0]!], pads: [0, pads[0]!, 0, pads[1]!], oneD: true };
}

/** kernel_shape / strides / dilations / pads (auto_pad resolved) for `spatialIn.length` spatial dims, as given. */
function windowAttrs(ctx: NodeContext, spatialIn: readonly number[], kernelFromWeight?: readonly number[]): Omit<Window, 'oneD'> {
  const r = spatialIn.length;
  const kernel = ctx.intList('kernel_shape') ?? kernelFromWeight?.slice() ?? ctx.fail('attribute kernel_shape is required');
  if (kernel.length !== r) ctx.fail(`kernel_shape ${JSON.stringify(kernel)} does not match ${r} spatial dims`);
  const strides = ctx.intList('strides') ?? kernel.map(() => 1);
  const dilations = ctx.intList('dilations') ?? kernel.map(() => 1);
  let pads = ctx.intList('pads') ?? kernel.map(() => 0).concat(kernel.map(() => 0));
  if (strides.length !== r || dilations.length !== r || pads.length !== 2 * r)
    ctx.fail(`strides, dilations and pads must have ${r}, ${r} and ${2 * r} entries`);
  const autoPad = ctx.string('auto_pad', 'NOTSET');
  if (autoPad === 'VALID') pads = pads.map(() => 0);
  else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const begins: number[] = [];
    const ends: number[] = [];
    spatialIn.forEach((n, i) => {
      const out = Math.ceil(n / strides[i]!);
      const total = Math.max(0, (out - 1) * strides[i]! + (kernel[i]! - 1) * dilations[i]! + 1 - n);
      const small = Math.floor(total / 2);
      begins.push(autoPad === 'SAME_UPPER' ? small : total - small);
      ends.push(autoPad === 'SAME_UPPER' ? total - small : small);
    });
    pads = [...begins, ...ends];
  } else if (autoPad !== 'NOTSET') ctx.fail(`auto_pad='${autoPad}' is not supported`);
  return { kernel, strides, dilations, pads };
}

/**
 * The depth taps of a 3-D window over x [N, C, D, H, W]: x padded along D with `fill`, then for
 * each tap i of the kernel's depth the slice of the D positions it reads for every output depth,
 * folded into the batch as [N * Dout, C, H, W]; `unfold` turns a [N * Dout, C', H', W'] result
 * back into [N, C', Dout, H', W'].
 */
function depthTaps(ctx: NodeContext, x: ValueId, w: Omit<Window, 'oneD'>, fill: number): { taps: ValueId[]; dOut: number; unfold: (y: ValueId) => ValueId } {
  const b = ctx.b;
  const [n, c, d, h, wd] = b.shape(x) as [number, number, number, number, number];
  const [p0, p1] = [w.pads[0]!, w.pads[3]!];
  const xp = p0 || p1 ? b.op1('pad', [x], { pads: [0, 0, p0, 0, 0, 0, 0, p1, 0, 0], value: fill }) : x;
  const span = w.dilations[0]! * (w.kernel[0]! - 1) + 1;
  const dOut = Math.floor((d + p0 + p1 - span) / w.strides[0]!) + 1;
  if (dOut < 1) ctx.fail(`the depth window (${span}) is larger than the padded depth (${d + p0 + p1})`, 'shape');
  const taps = Array.from({ length: w.kernel[0]! }, (_, i) => {
    const start = i * w.dilations[0]!;
    const sl = b.op1('slice', [xp], { starts: [start], ends: [start + (dOut - 1) * w.strides[0]! + 1], axes: [2], steps: [w.strides[0]!] });
    return b.reshape(b.transpose(sl, [0, 2, 1, 3, 4]), [n * dOut, c, h, wd]);
  });
  const unfold = (y: ValueId) => {
    const ys = b.shape(y);
    return b.transpose(b.reshape(y, [n, dOut, ys[1]!, ys[2]!, ys[3]!]), [0, 2, 1, 3, 4]);
  };
  return { taps, dOut, unfold };
}

/** The H, W part of a 3-D window, for the 2-D op run on each depth slice. */
const hw = (w: Omit<Window, 'oneD'>) => ({ kernel: w.kernel.slice(1), strides: w.strides.slice(1), dilations: w.dilations.slice(1), pads: [w.pads[1]!, w.pads[2]!, w.pads[4]!, w.pads[5]!] });

/** 3-D Conv: the sum over the weight's depth taps of 2-D convs of the matching depth slices. */
function conv3d(ctx: NodeContext, x: ValueId, wv: ValueId): ValueId {
  const b = ctx.b;
  const ws = b.shape(wv);
  if (ws.length !== 5) ctx.fail(`weight must be [C_out, C_in / group, kD, kH, kW], got [${ws}]`, 'shape');
  const win = windowAttrs(ctx, b.shape(x).slice(2), ws.slice(2));
  const { taps, unfold } = depthTaps(ctx, x, win, 0);
  const { strides, pads, dilations } = hw(win);
  let y: ValueId | undefined;
  taps.forEach((t, i) => {
    const wi = b.reshape(b.op1('slice', [wv], { starts: [i], ends: [i + 1], axes: [2], steps: [1] }), [ws[0]!, ws[1]!, ws[3]!, ws[4]!]);
    const inputs = i === 0 && ctx.has(2) ? [t, wi, ctx.valueAs(2, b.dtype(x))] : [t, wi];
    const yi = b.op1('conv2d', inputs, { strides, pads, dilations, groups: ctx.int('group', 1) });
    y = y === undefined ? yi : b.add(y, yi);
  });
  return unfold(y!);
}

/**
 * 3-D pooling: the maximum over depth taps of 2-D max pools of the slices (depth padding reads
 * -inf), or their mean over the taps that fall inside the input (all kd with count_include_pad).
 */
function pool3d(ctx: NodeContext, kind: 'max' | 'avg', x: ValueId): ValueId {
  const b = ctx.b;
  if (ctx.int('ceil_mode', 0) === 1) ctx.fail('ceil_mode=1 is not supported for 3-D pooling', 'unsupported-op');
  const win = windowAttrs(ctx, b.shape(x).slice(2));
  const { taps, dOut, unfold } = depthTaps(ctx, x, win, kind === 'max' ? -Infinity : 0);
  const { kernel, strides, pads, dilations } = hw(win);
  if (kind === 'max') {
    if (ctx.wantsOutput(1)) ctx.fail('the Indices output of MaxPool is not supported', 'unsupported-op');
    const ys = taps.map((t) => b.op1('max_pool2d', [t], { kernel, strides, pads, dilations, ceilMode: false }));
    return unfold(ys.reduce((m, y) => b.op1('maximum', [m, y], {})));
  }
  if (win.dilations.some((d) => d !== 1)) ctx.fail('dilated AveragePool is not supported');
  const countIncludePad = ctx.int('count_include_pad', 0) === 1;
  const ys = taps.map((t) => b.op1('avg_pool2d', [t], { kernel, strides, pads, ceilMode: false, countIncludePad }));
  const sum = unfold(ys.reduce((s, y) => b.add(s, y)));
  // taps of output depth o inside the input: o * stride - pad + i in [0, D) (all of them with count_include_pad)
  const d = b.shape(x)[2]!;
  const counts = Array.from({ length: dOut }, (_, o) => {
    if (countIncludePad) return win.kernel[0]!;
    let k = 0;
    for (let i = 0; i < win.kernel[0]!; i++) {
      const at = o * win.strides[0]! - win.pads[0]! + i;
      if (at >= 0 && at < d) k++;
    }
    return k;
  });
  return b.mul(sum, b.constant(tensor(b.dtype(x), [1, 1, dOut, 1, 1], counts.map((k) => 1 / k))));
}

/** x as NCHW: a 1-D input [N, C, L] becomes [N, C, 1, L]. */
function as2d(ctx: NodeContext, x: ValueId): ValueId {
  const s = ctx.b.shape(x);
  return s.length === 3 ? ctx.b.reshape(x, [s[0]!, s[1]!, 1, s[2]!]) : x;
}

/** Undoes as2d on the result. */
function from2d(ctx: NodeContext, y: ValueId, w: Window): ValueId {
  if (!w.oneD) return y;
  const s = ctx.b.shape(y);
  return ctx.b.reshape(y, [s[0]!, s[1]!, s[3]!]);
}

function spatial(ctx: NodeContext, x: ValueId): number[] {
  const s = ctx.b.shape(x);
  if (s.length < 3) ctx.fail(`input must be N x C x spatial..., got rank ${s.length}`, 'shape');
  return s.slice(2);
}

/**
 * Pooling over 3 or more spatial axes whose window covers one element on all but at most two of
 * them (kernel 1, stride 1, no padding or dilation): those axes are folded into the channels and
 * the rest pooled in 2-D (PyTorch's LocalResponseNorm exports a [size, 1, 1] AveragePool).
 */
/** Whether poolFolded applies: the window covers one element on all but at most two of the r axes. */
function foldable(ctx: NodeContext, r: number): boolean {
  const kernel = ctx.intList('kernel_shape') ?? [];
  const strides = ctx.intList('strides') ?? kernel.map(() => 1);
  const dilations = ctx.intList('dilations') ?? kernel.map(() => 1);
  const pads = ctx.string('auto_pad', 'NOTSET') === 'VALID' ? [] : (ctx.intList('pads') ?? []);
  const trivial = kernel.filter((k, i) => k === 1 && (strides[i] ?? 1) === 1 && (dilations[i] ?? 1) === 1 && !pads[i] && !pads[r + i]);
  return kernel.length === r && r - trivial.length <= 2;
}

function poolFolded(ctx: NodeContext, kind: 'max' | 'avg', x: ValueId): ValueId {
  const b = ctx.b;
  const s = b.shape(x);
  const sp = s.slice(2);
  const r = sp.length;
  const kernel = ctx.intList('kernel_shape') ?? ctx.fail('attribute kernel_shape is required');
  const strides = ctx.intList('strides') ?? kernel.map(() => 1);
  const dilations = ctx.intList('dilations') ?? kernel.map(() => 1);
  const pads = ctx.intList('pads') ?? [...kernel, ...kernel].map(() => 0);
  if (kernel.length !== r || strides.length !== r || dilations.length !== r || pads.length !== 2 * r)
    ctx.fail(`kernel_shape, strides, dilations and pads must have ${r}, ${r}, ${r} and ${2 * r} entries`);
  const autoPad = ctx.string('auto_pad', 'NOTSET');
  if (autoPad !== 'NOTSET' && autoPad !== 'VALID') ctx.fail(`auto_pad='${autoPad}' is not supported for ${r}-D pooling`);
  const pad = (i: number, end: boolean) => (autoPad === 'VALID' ? 0 : pads[end ? r + i : i]!);
  const trivial = sp.map((_, i) => kernel[i] === 1 && strides[i] === 1 && dilations[i] === 1 && pad(i, false) === 0 && pad(i, true) === 0);
  const keep = sp.map((_, i) => i).filter((i) => !trivial[i]);
  const fold = sp.map((_, i) => i).filter((i) => trivial[i]);
  if (keep.length > 2) ctx.fail(`${r}-D pooling is supported only when its window covers one element on all but two axes (kernel ${JSON.stringify(kernel)})`, 'unsupported-op');
  const two = keep.length === 2 ? keep : keep.length === 1 ? [-1, keep[0]!] : [-1, -1];
  const at = (i: number, v: number[], d: number) => (i < 0 ? d : v[i]!);
  const perm = [0, 1, ...fold.map((i) => i + 2), ...keep.map((i) => i + 2)];
  const c = s[1]! * fold.reduce((p, i) => p * sp[i]!, 1);
  const x4 = b.reshape(b.transpose(x, perm), [s[0]!, c, at(two[0]!, sp, 1), at(two[1]!, sp, 1)]);
  const k2 = two.map((i) => at(i, kernel, 1));
  const st2 = two.map((i) => at(i, strides, 1));
  const pads2 = [...two.map((i) => (i < 0 ? 0 : pad(i, false))), ...two.map((i) => (i < 0 ? 0 : pad(i, true)))];
  const ceilMode = ctx.int('ceil_mode', 0) === 1;
  let y: ValueId;
  if (kind === 'max') {
    if (ctx.wantsOutput(1)) ctx.fail('the Indices output of MaxPool is not supported', 'unsupported-op');
    y = b.op1('max_pool2d', [x4], { kernel: k2, strides: st2, pads: pads2, dilations: two.map((i) => at(i, dilations, 1)), ceilMode });
  } else {
    if (dilations.some((d) => d !== 1)) ctx.fail('dilated AveragePool is not supported');
    y = b.op1('avg_pool2d', [x4], { kernel: k2, strides: st2, pads: pads2, ceilMode, countIncludePad: ctx.int('count_include_pad', 0) === 1 });
  }
  const ys = b.shape(y);
  const outSp = sp.slice();
  keep.forEach((i, j) => (outSp[i] = ys[2 + j + (keep.length === 1 ? 1 : 0)]!));
  const unfolded = b.reshape(y, [s[0]!, s[1]!, ...fold.map((i) => sp[i]!), ...keep.map((i) => outSp[i]!)]);
  const inverse = perm.map((_, i) => perm.indexOf(i));
  return b.transpose(unfolded, inverse);
}

function pool(kind: 'max' | 'avg') {
  return (ctx: NodeContext) => {
    const x = ctx.value(0);
    const r = spatial(ctx, x).length;
    if (r === 3 && !foldable(ctx, r)) return [pool3d(ctx, kind, x)];
    if (r > 2) return [poolFolded(ctx, kind, x)];
    const w = window(ctx, spatial(ctx, x));
    const ceilMode = ctx.int('ceil_mode', 0) === 1;
    const x2 = as2d(ctx, x);
    let y: ValueId;
    if (kind === 'max') {
      if (ctx.wantsOutput(1)) ctx.fail('the Indices output of MaxPool is not supported', 'unsupported-op');
      ctx.requireAttrValue('storage_order', [0]);
      y = ctx.b.op1('max_pool2d', [x2], { kernel: w.kernel, strides: w.strides, pads: w.pads, dilations: w.dilations, ceilMode });
    } else {
      if (w.dilations.some((d) => d !== 1)) ctx.fail('dilated AveragePool is not supported');
      const countIncludePad = ctx.int('count_include_pad', 0) === 1;
      y = ctx.b.op1('avg_pool2d', [x2], { kernel: w.kernel, strides: w.strides, pads: w.pads, ceilMode, countIncludePad });
    }
    return [from2d(ctx, y, w)];
  };
}

function globalPool(op: 'reduce_mean' | 'reduce_max') {
  return (ctx: NodeContext) => {
    const x = ctx.value(0);
    const axes = spatial(ctx, x).map((_, i) => i + 2);
    return [ctx.b.op1(op, [x], { axes, keepdims: true })];
  };
}

/**
 * ConvTranspose (https://onnx.ai/onnx/operators/onnx__ConvTranspose.html) is the adjoint of a
 * conv: conv2d_grad_input with x in the role of the conv's output gradient and the weight
 * [C_in, C_out / group, kH, kW] read as that conv's. Output size per axis:
 * stride (in - 1) + output_padding + dilation (k - 1) + 1 - pads, or output_shape (pads then
 * derived as the spec says: the odd one at the end for SAME_UPPER, at the beginning otherwise).
 */
function convTranspose(ctx: NodeContext): ValueId[] {
  const b = ctx.b;
  const x = ctx.value(0);
  const wv = ctx.valueAs(1, b.dtype(x));
  const xs = b.shape(x);
  const ws = b.shape(wv);
  const sp = spatial(ctx, x);
  const r = sp.length;
  if (r !== 1 && r !== 2) ctx.fail(`only 1-D and 2-D ConvTranspose are supported (input has ${r} spatial dims)`, 'shape');
  if (ws.length !== r + 2) ctx.fail(`weight must be [C_in, C_out/group, ...kernel] of rank ${r + 2}, got [${ws}]`, 'shape');
  const group = ctx.int('group', 1);
  if (ws[0] !== xs[1]) ctx.fail(`weight [${ws}] expects ${ws[0]} input channels, the input [${xs}] has ${xs[1]}`, 'shape');
  const kernel = ctx.intList('kernel_shape') ?? ws.slice(2);
  if (kernel.length !== r || kernel.some((k, i) => k !== ws[2 + i])) ctx.fail(`kernel_shape ${JSON.stringify(kernel)} does not match the weight [${ws}]`);
  const strides = ctx.intList('strides') ?? kernel.map(() => 1);
  const dilations = ctx.intList('dilations') ?? kernel.map(() => 1);
  const outPad = ctx.intList('output_padding') ?? kernel.map(() => 0);
  if (strides.length !== r || dilations.length !== r || outPad.length !== r) ctx.fail(`strides, dilations and output_padding must have ${r} entries`);
  if (outPad.some((p, i) => p < 0 || (p >= strides[i]! && p >= dilations[i]!)))
    ctx.fail(`output_padding ${JSON.stringify(outPad)} must be smaller than the stride or the dilation of its axis (strides ${JSON.stringify(strides)})`);
  const full = sp.map((n, i) => strides[i]! * (n - 1) + outPad[i]! + dilations[i]! * (kernel[i]! - 1) + 1);
  const autoPad = ctx.string('auto_pad', 'NOTSET');
  if (!['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID'].includes(autoPad)) ctx.fail(`auto_pad='${autoPad}' is not supported`);
  let outShape = ctx.intList('output_shape');
  if (outShape && outShape.length === r + 2) outShape = outShape.slice(2); // some exporters give N and C too
  if (!outShape && (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER')) outShape = sp.map((n, i) => n * strides[i]!);
  let pads: number[];
  if (outShape) {
    if (outShape.length !== r) ctx.fail(`output_shape ${JSON.stringify(outShape)} must have ${r} entries`);
    const total = full.map((f, i) => f - outShape![i]!);
    if (total.some((t) => t < 0)) ctx.fail(`output_shape ${JSON.stringify(outShape)} is larger than the transposed convolution's full output ${JSON.stringify(full)}`, 'shape');
    const lower = autoPad !== 'SAME_UPPER';
    pads = [...total.map((t) => (lower ? t - Math.floor(t / 2) : Math.floor(t / 2))), ...total.map((t) => (lower ? Math.floor(t / 2) : t - Math.floor(t / 2)))];
  } else pads = autoPad === 'VALID' ? kernel.map(() => 0).concat(kernel.map(() => 0)) : (ctx.intList('pads') ?? kernel.map(() => 0).concat(kernel.map(() => 0)));
  if (pads.length !== 2 * r) ctx.fail(`pads must have ${2 * r} entries`);
  const out = full.map((f, i) => f - pads[i]! - pads[r + i]!);
  if (out.some((o) => o < 1)) ctx.fail(`the output would be empty: ${JSON.stringify(out)} (pads ${JSON.stringify(pads)})`, 'shape');
  const cOut = ws[1]! * group;
  const twoD = r === 2;
  const x2 = as2d(ctx, x);
  const w2 = twoD ? wv : b.reshape(wv, [ws[0]!, ws[1]!, 1, ws[2]!]);
  const attrs = {
    strides: twoD ? strides : [1, strides[0]!],
    pads: twoD ? pads : [0, pads[0]!, 0, pads[1]!],
    dilations: twoD ? dilations : [1, dilations[0]!],
    groups: group,
    inputShape: twoD ? [xs[0]!, cOut, out[0]!, out[1]!] : [xs[0]!, cOut, 1, out[0]!],
  };
  let y = b.op1('conv2d_grad_input', [x2, w2], attrs);
  if (ctx.has(2)) y = b.add(y, b.reshape(ctx.valueAs(2, b.dtype(x)), [cOut, 1, 1]));
  return [twoD ? y : b.reshape(y, [xs[0]!, cOut, out[0]!])];
}

export const convHandlers: HandlerTable = {
  ConvTranspose: convTranspose,
  Conv: (ctx) => {
    const b = ctx.b;
    const x = ctx.value(0);
    const wv = ctx.valueAs(1, b.dtype(x));
    const ws = b.shape(wv);
    if (spatial(ctx, x).length === 3) return [conv3d(ctx, x, wv)];
    const win = window(ctx, spatial(ctx, x), ws.slice(2));
    const w2 = win.oneD ? b.reshape(wv, [ws[0]!, ws[1]!, 1, ws[2]!]) : wv;
    const inputs = [as2d(ctx, x), w2];
    if (ctx.has(2)) inputs.push(ctx.valueAs(2, b.dtype(x)));
    const y = b.op1('conv2d', inputs, { strides: win.strides, pads: win.pads, dilations: win.dilations, groups: ctx.int('group', 1) });
    return [from2d(ctx, y, win)];
  },
  MaxPool: pool('max'),
  AveragePool: pool('avg'),
  GlobalAveragePool: globalPool('reduce_mean'),
  GlobalMaxPool: globalPool('reduce_max'),
};
