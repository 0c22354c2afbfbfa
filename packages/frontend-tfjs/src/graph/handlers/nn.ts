/**
 * Convolutions, pooling and batch normalization of a GraphDef (NHWC, as tfjs-converter emits).
 * Filters stay params in TF layout (HWIO, depthwise [kh, kw, C, M]) under their Const names.
 */
import type { ValueId } from '@pockengine/core';
import { act, convDepthwise, convHwio, convTransposeHwoi, nchw, nhwc, pool2d, type Act, type ConvSpec } from '../../layout.js';
import type { OpContext, Sym } from '../context.js';
import { fusedEpilogue } from './math.js';
import type { OpHandlerTable } from './types.js';

/** strides / dilations / padding (SAME, VALID, or EXPLICIT with explicit_paddings in NHWC pairs). */
function convSpec(ctx: OpContext): ConvSpec {
  ctx.requireNhwc();
  const strides = ctx.hw('strides', [1, 1, 1, 1]);
  const dilations = ctx.hw('dilations', [1, 1, 1, 1]);
  const pad = ctx.attrs.str('padding', 'VALID').toLowerCase();
  if (pad === 'explicit') {
    const p = ctx.attrs.ints('explicit_paddings', []);
    if (p.length !== 8) ctx.fail(`explicit_paddings must have 8 entries, got ${JSON.stringify(p)}`);
    return { strides, dilations, padding: [p[2]!, p[4]!, p[3]!, p[5]!] };
  }
  if (pad !== 'same' && pad !== 'valid') ctx.unsupported(`padding '${pad}' is not supported`);
  return { strides, dilations, padding: pad };
}

function conv(kind: 'full' | 'depthwise', fused: boolean) {
  return (ctx: OpContext): Sym[] => {
    const spec = convSpec(ctx);
    const f = kind === 'full' ? convHwio : convDepthwise;
    const y = f(ctx.b, ctx.value(0), ctx.value(1, 'param').v, null, spec, ctx.where);
    return [fused ? fusedEpilogue(ctx, y, 2) : y];
  };
}

/**
 * Conv2DBackpropInput(input_sizes, filter [kh, kw, C, F], out_backprop [N, H', W', F]) -> input_sizes:
 * a transposed conv (tf.conv2dTranspose in a converted graph), the output size taken as given.
 */
function Conv2DBackpropInput(ctx: OpContext): Sym[] {
  const spec = convSpec(ctx);
  const sizes = ctx.ints(0, 'input_sizes');
  if (sizes.length !== 4) ctx.fail(`input_sizes must be [N, H, W, C], got [${sizes}]`, 'shape');
  const y = convTransposeHwoi(ctx.b, ctx.value(2), ctx.value(1, 'param').v, null, spec, ctx.where, [sizes[1]!, sizes[2]!]);
  const c = ctx.b.shape(y.v)[1]!;
  if (sizes[3] !== c) ctx.fail(`input_sizes has ${sizes[3]} channels, the filter gives ${c}`, 'shape');
  return [y];
}

function pool(kind: 'max' | 'avg') {
  return (ctx: OpContext): Sym[] => {
    ctx.requireNhwc();
    const pad = ctx.attrs.str('padding', 'VALID').toLowerCase();
    if (pad !== 'same' && pad !== 'valid') ctx.unsupported(`padding '${pad}' is not supported`);
    return [pool2d(ctx.b, ctx.value(0), kind, ctx.hw('ksize', [1, 1, 1, 1]), ctx.hw('strides', [1, 1, 1, 1]), pad, ctx.where)];
  };
}

/**
 * FusedBatchNorm(V3): [x, scale, offset, mean, variance] -> [y, batch_mean, batch_variance, ...].
 * Inference graphs carry is_training = false: y uses the given statistics (buffers). With the
 * import option batchNorm 'train' the batch statistics are used instead (no moving-average
 * update: a frozen graph has no variables to update).
 */
function FusedBatchNorm(ctx: OpContext): Sym[] {
  ctx.requireNhwc();
  const b = ctx.b;
  const x = ctx.value(0);
  const [scale, offset] = [1, 2].map((i) => ctx.value(i, 'param').v) as [ValueId, ValueId];
  const [mean, variance] = [3, 4].map((i) => ctx.value(i, 'buffer').v) as [ValueId, ValueId];
  const epsilon = ctx.attrs.float('epsilon', 1e-3);
  const training = ctx.opts.batchNorm === 'train';
  const rank = b.rank(x.v);
  const xv = rank === 4 ? nchw(b, x, ctx.where) : nhwc(b, x);
  if (rank !== 4 && rank !== 2) ctx.unsupported(`input of rank ${rank} is not supported (rank 4 NHWC or rank 2)`);
  const outs = b.op('batch_norm', [xv, scale, offset, mean, variance], { epsilon, training });
  const y: Act = act(outs[0]!, rank === 4);
  const stats = training ? [act(outs[1]!), act(outs[2]!)] : [act(mean), act(variance)];
  return [y, ...stats, ...stats, ...stats.slice(0, 1)];
}

export const nnHandlers: OpHandlerTable = {
  Conv2D: conv('full', false),
  _FusedConv2D: conv('full', true),
  Conv2DBackpropInput,
  DepthwiseConv2dNative: conv('depthwise', false),
  FusedDepthwiseConv2dNative: conv('depthwise', true),
  MaxPool: pool('max'),
  AvgPool: pool('avg'),
  FusedBatchNorm,
  FusedBatchNormV2: FusedBatchNorm,
  FusedBatchNormV3: FusedBatchNorm,
};
