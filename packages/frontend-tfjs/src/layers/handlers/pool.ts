/**
 * Pooling, padding, cropping and upsampling layers (tfjs-layers src/layers/pooling.ts,
 * padding.ts, convolutional.ts Cropping2D / UpSampling2D). Spatial layers run NCHW.
 */
import { act, gatherRows, nchw, nhwc, physicalAxis, pool2d, resizeNchw, type Act } from '../../layout.js';
import type { LayerContext } from '../context.js';
import type { LayerHandlerTable } from './types.js';

/** A pooling layer's padding: 'same' or 'valid'. */
function poolPadding(ctx: LayerContext): 'same' | 'valid' {
  const padding = ctx.str('padding', 'valid');
  if (padding !== 'same' && padding !== 'valid') ctx.unsupported(`padding '${padding}' is not supported`);
  return padding as 'same' | 'valid';
}

function pool(kind: 'max' | 'avg') {
  return (ctx: LayerContext): Act[] => {
    ctx.requireChannelsLast();
    const size = ctx.ints('poolSize', 2);
    const strides = ctx.cfg('strides', null) === null ? size : ctx.ints('strides', size);
    return [pool2d(ctx.b, ctx.input(), kind, size, strides, poolPadding(ctx), ctx.where)];
  };
}

/**
 * MaxPooling1D / AveragePooling1D on [N, T, C]: a [1, k] window over [N, C, 1, T] (TF.js pools the
 * same way, through a 2-D pool on an expanded axis), back to [N, T', C].
 */
function pool1d(kind: 'max' | 'avg') {
  return (ctx: LayerContext): Act[] => {
    ctx.requireChannelsLast();
    const b = ctx.b;
    const x = nhwc(b, ctx.input());
    const s = b.shape(x);
    if (s.length !== 3) ctx.fail(`expects a [batch, steps, channels] input, got [${s}]`);
    const [n, t, c] = s as [number, number, number];
    const [size] = ctx.ints('poolSize', 2, 1) as [number];
    const [stride] = ctx.cfg('strides', null) === null ? [size] : (ctx.ints('strides', size, 1) as [number]);
    const padding = poolPadding(ctx);
    const x4 = b.reshape(b.transpose(x, [0, 2, 1]), [n, c, 1, t]);
    const y = pool2d(b, act(x4, true), kind, [1, size], [1, stride], padding, ctx.where).v;
    const steps = b.shape(y)[3]!;
    return [act(b.transpose(b.reshape(y, [n, c, steps]), [0, 2, 1]))];
  };
}

/**
 * CenterCrop as TF.js computes it: a nearest-neighbour cropAndResize over the box [offset / size,
 * (offset + crop) / size] (float32), whose sample rows are y1 (H - 1) + i (y2 - y1)(H - 1) / (crop - 1),
 * rounded; the width offset is at least 1 when the widths differ. Usually a plain window, but not
 * always: each axis is a gather of exactly the rows TF.js samples.
 */
function CenterCrop(ctx: LayerContext): Act[] {
  ctx.requireChannelsLast();
  const b = ctx.b;
  const x = nchw(b, ctx.input(), ctx.where);
  const [, , h, w] = b.shape(x) as [number, number, number, number];
  const ch = ctx.cfg<number>('height', h);
  const cw = ctx.cfg<number>('width', w);
  const hOff = h === ch ? 0 : Math.floor((h - ch) / 2);
  const wOff = w === cw ? 0 : Math.floor((w - cw) / 2) || 1;
  if (hOff < 0 || wOff < 0) ctx.unsupported(`a ${ch}x${cw} crop of a ${h}x${w} image (TF.js resizes bilinearly then; only cropping is supported)`);
  const rows = (size: number, off: number, crop: number): number[] => {
    const y1 = Math.fround(off / size);
    const y2 = Math.fround((crop + off) / size);
    const scale = crop > 1 ? ((y2 - y1) * (size - 1)) / (crop - 1) : 0;
    return Array.from({ length: crop }, (_, i) => {
      const at = crop > 1 ? y1 * (size - 1) + i * scale : 0.5 * (y1 + y2) * (size - 1);
      if (at < 0 || at > size - 1) ctx.unsupported(`the crop samples outside the image (row ${at})`);
      return Math.round(at);
    });
  };
  let y = x;
  for (const [axis, idx] of [[2, rows(h, hOff, ch)], [3, rows(w, wOff, cw)]] as const) {
    if (idx.every((r, i) => r === i) && idx.length === b.shape(y)[axis]) continue;
    y = gatherRows(b, y, axis, idx, `${ctx.name}/axis${axis}/rows`);
  }
  return [act(y, true)];
}

/** Mean / max over the spatial axes: [N, H, W, C] -> [N, C] ([N, 1, 1, C] with keepDims). */
function globalPool2d(kind: 'reduce_mean' | 'reduce_max') {
  return (ctx: LayerContext): Act[] => {
    ctx.requireChannelsLast();
    const b = ctx.b;
    const x = ctx.input();
    const keepdims = ctx.cfg('keepDims', false);
    const axes = [1, 2].map((a) => physicalAxis(b, x, a));
    return [act(b.op1(kind, [x.v], { axes, keepdims }), x.nchw && keepdims)];
  };
}

/** Mean / max over the steps of [N, T, C] -> [N, C]. */
function globalPool1d(kind: 'reduce_mean' | 'reduce_max') {
  return (ctx: LayerContext): Act[] => {
    ctx.requireChannelsLast();
    const x = nhwc(ctx.b, ctx.input());
    return [act(ctx.b.op1(kind, [x], { axes: [1], keepdims: ctx.cfg('keepDims', false) }))];
  };
}

/** [[top, bottom], [left, right]] from an int, a pair, or a pair of pairs (Keras normalisation). */
function box(ctx: LayerContext, key: string, def: number): [number, number, number, number] {
  const v = ctx.cfg<number | number[] | number[][]>(key, def);
  if (typeof v === 'number') return [v, v, v, v];
  if (typeof v[0] === 'number') return [v[0], v[0], v[1] as number, v[1] as number];
  const [[t, bt], [l, r]] = v as [[number, number], [number, number]];
  return [t, bt, l, r];
}

function ZeroPadding2D(ctx: LayerContext): Act[] {
  ctx.requireChannelsLast();
  const [t, bt, l, r] = box(ctx, 'padding', 1);
  const x = nchw(ctx.b, ctx.input(), ctx.where);
  return [act(ctx.b.op1('pad', [x], { pads: [0, 0, t, l, 0, 0, bt, r], value: 0 }), true)];
}

function Cropping2D(ctx: LayerContext): Act[] {
  ctx.requireChannelsLast();
  const [t, bt, l, r] = box(ctx, 'cropping', 0);
  const x = nchw(ctx.b, ctx.input(), ctx.where);
  const s = ctx.b.shape(x);
  const y = ctx.b.op1('slice', [x], { starts: [t, l], ends: [s[2]! - bt, s[3]! - r], axes: [2, 3], steps: [1, 1] });
  return [act(y, true)];
}

/**
 * UpSampling2D: 'nearest' repeats each pixel sh x sw times (reshape, broadcast, reshape);
 * 'bilinear' is tf.image.resizeBilinear to [h * sh, w * sw] (no align_corners, no half-pixel
 * centers), as tfjs-layers calls it.
 */
function UpSampling2D(ctx: LayerContext): Act[] {
  ctx.requireChannelsLast();
  const mode = ctx.str('interpolation', 'nearest');
  if (mode !== 'nearest' && mode !== 'bilinear') ctx.unsupported(`interpolation '${mode}' is not supported (nearest, bilinear)`);
  const b = ctx.b;
  const [sh, sw] = ctx.ints('size', 2) as [number, number];
  const x = nchw(b, ctx.input(), ctx.where);
  const [n, c, h, w] = b.shape(x) as [number, number, number, number];
  if (mode === 'bilinear') return [act(resizeNchw(b, x, 'bilinear', [h * sh, w * sw], false, false, ctx.name), true)];
  const rep = b.expand(b.reshape(x, [n, c, h, 1, w, 1]), [n, c, h, sh, w, sw]);
  return [act(b.reshape(rep, [n, c, h * sh, w * sw]), true)];
}

export const poolHandlers: LayerHandlerTable = {
  MaxPooling2D: pool('max'),
  AveragePooling2D: pool('avg'),
  MaxPooling1D: pool1d('max'),
  AveragePooling1D: pool1d('avg'),
  CenterCrop,
  GlobalAveragePooling2D: globalPool2d('reduce_mean'),
  GlobalMaxPooling2D: globalPool2d('reduce_max'),
  GlobalAveragePooling1D: globalPool1d('reduce_mean'),
  GlobalMaxPooling1D: globalPool1d('reduce_max'),
  ZeroPadding2D,
  Cropping2D,
  UpSampling2D,
};
