/**
 * Convolution layers (tfjs-layers src/layers/convolutional.ts, convolutional_depthwise.ts):
 * Conv1D, Conv2D, Conv2DTranspose, DepthwiseConv2D, SeparableConv2D. Kernels stay params in their TF.js layout
 * and are rearranged for the NCHW conv2d op inside the graph (layout.ts). 'same' padding is
 * resolved as TF does: the odd pixel goes to the bottom / right.
 */
import { act, convDepthwise, convHwio, convTransposeHwoi, nhwc, type Act, type ConvSpec } from '../../layout.js';
import type { LayerContext } from '../context.js';
import type { LayerHandlerTable } from './types.js';

function spec(ctx: LayerContext): ConvSpec {
  ctx.requireChannelsLast();
  const padding = ctx.str('padding', 'valid');
  if (padding !== 'same' && padding !== 'valid') ctx.unsupported(`padding '${padding}' is not supported (use 'same' or 'valid')`);
  const strides = ctx.ints('strides', 1);
  const dilations = ctx.ints('dilationRate', 1);
  // TF rejects strides > 1 together with dilation > 1; so do we, rather than guess
  if (strides.some((s) => s > 1) && dilations.some((d) => d > 1)) ctx.fail('strides > 1 with dilation_rate > 1 is not supported by TF');
  return { strides, dilations, padding };
}

const bias = (ctx: LayerContext) => (ctx.cfg('useBias', true) ? ctx.weight('bias') : null);

function Conv2D(ctx: LayerContext): Act[] {
  if (ctx.cfg('groups', 1) !== 1) ctx.unsupported('groups > 1 is not supported');
  const y = convHwio(ctx.b, ctx.input(), ctx.weight('kernel'), bias(ctx), spec(ctx), ctx.where);
  return [ctx.activate(y)];
}

/** kernel [kh, kw, filters, C]: the input gradient of a conv (convTransposeHwoi). */
function Conv2DTranspose(ctx: LayerContext): Act[] {
  const s = spec(ctx);
  if (s.dilations.some((d) => d !== 1)) ctx.unsupported('dilation_rate > 1 is not supported (tf.conv2dTranspose has none)');
  const y = convTransposeHwoi(ctx.b, ctx.input(), ctx.weight('kernel'), bias(ctx), s, ctx.where);
  return [ctx.activate(y)];
}

/** kernel [kh, kw, C, depth_multiplier]; output channel c * M + m (see convDepthwise). */
function DepthwiseConv2D(ctx: LayerContext): Act[] {
  const y = convDepthwise(ctx.b, ctx.input(), ctx.weight('depthwise_kernel'), bias(ctx), spec(ctx), ctx.where);
  return [ctx.activate(y)];
}

/** Depthwise conv (no bias), then a 1x1 pointwise conv with the bias (tf.separableConv2d). */
function SeparableConv2D(ctx: LayerContext): Act[] {
  const s = spec(ctx);
  const dw = convDepthwise(ctx.b, ctx.input(), ctx.weight('depthwise_kernel'), null, s, ctx.where);
  const pw = convHwio(ctx.b, dw, ctx.weight('pointwise_kernel'), bias(ctx), { strides: [1, 1], dilations: [1, 1], padding: 'valid' }, ctx.where);
  return [ctx.activate(pw)];
}

/**
 * Conv1D on [B, T, C] with kernel [k, C, F], run as a 2-D conv over [B, 1, T, C]. 'causal'
 * padding pads (k - 1) * dilation steps on the left only.
 */
function Conv1D(ctx: LayerContext): Act[] {
  const b = ctx.b;
  ctx.requireChannelsLast();
  const x = nhwc(b, ctx.input());
  const [n, t, c] = b.shape(x) as [number, number, number];
  const kernel = ctx.weight('kernel');
  const [k, , f] = b.shape(kernel) as [number, number, number];
  const [stride] = ctx.ints('strides', 1, 1) as [number];
  const [dil] = ctx.ints('dilationRate', 1, 1) as [number];
  const pad = ctx.str('padding', 'valid');
  if (pad !== 'same' && pad !== 'valid' && pad !== 'causal') ctx.unsupported(`padding '${pad}' is not supported`);
  const padding = pad === 'causal' ? [0, (k - 1) * dil, 0, 0] : pad;
  const y = convHwio(b, act(b.reshape(x, [n, 1, t, c])), b.reshape(kernel, [1, k, c, f]), bias(ctx), { strides: [1, stride], dilations: [1, dil], padding }, ctx.where);
  const ys = b.shape(y.v);
  // NCHW [n, f, 1, t'] -> [n, t', f]
  const out = b.transpose(b.reshape(y.v, [n, f, ys[3]!]), [0, 2, 1]);
  return [ctx.activate(act(out))];
}

export const convHandlers: LayerHandlerTable = { Conv1D, Conv2D, Conv2DTranspose, DepthwiseConv2D, SeparableConv2D };
