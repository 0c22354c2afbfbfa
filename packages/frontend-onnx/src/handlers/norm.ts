/**
 * BatchNormalization, LayerNormalization and Dropout: the ops whose meaning depends on the
 * training setting chosen at import (ImportOptions.batchNorm / dropout), not on the file.
 * InstanceNormalization and GroupNormalization always use the statistics of their input and map
 * onto layer_norm over a reshaped view; LRN onto an average pool across channels.
 */
import { fmtShape, isFloat, shapeEq, size, type Shape, type ValueId } from '@pockengine/core';
import { constScalar } from '../const.js';
import type { NodeContext, Sym } from '../context.js';
import type { HandlerTable } from './types.js';

/**
 * BatchNormalization (https://onnx.ai/onnx/operators/onnx__BatchNormalization.html). Two forms
 * occur: opset >= 14 with training_mode and outputs [Y, running_mean, running_var], and the
 * opset-9 form (op13 exports) with outputs [Y, mean, var, saved_mean, saved_var] and no
 * training_mode. Both become one batch_norm; the import option decides the mode for every node.
 *
 * In 'train' mode the running statistics are updated with PyTorch's semantics
 * (torch.nn.BatchNorm2d): running = (1 - m') * running + m' * batch, where m' = 1 - momentum of
 * the ONNX attribute, and the variance update uses the unbiased batch variance v * n / (n - 1).
 */
function BatchNormalization(ctx: NodeContext): (Sym | null)[] {
  const b = ctx.b;
  if (ctx.opset < 9 && ctx.int('spatial', 1) !== 1) ctx.fail('spatial=0 is not supported');
  const x = ctx.value(0);
  const dt = b.dtype(x);
  const [scale, bias, mean, variance] = [1, 2, 3, 4].map((i) => ctx.valueAs(i, dt)) as [ValueId, ValueId, ValueId, ValueId];
  const epsilon = ctx.float('epsilon', 1e-5);
  if (ctx.opts.batchNorm !== 'train') {
    const y = b.op1('batch_norm', [x, scale, bias, mean, variance], { epsilon, training: false });
    // frozen statistics: the running-stat outputs (if anything reads them) are the inputs unchanged
    return [y, ctx.sym(3), ctx.sym(4), ctx.sym(3), ctx.sym(4)].slice(0, Math.max(1, ctx.node.outputs.length));
  }
  const [y, batchMean, batchVar] = b.op('batch_norm', [x, scale, bias, mean, variance], { epsilon, training: true }) as [ValueId, ValueId, ValueId];
  // float attributes are float32: 0.9 arrives as 0.89999998; PyTorch's momentum is the decimal 0.1
  const momentum = Number(ctx.float('momentum', 0.9).toPrecision(7));
  const xs = b.shape(x);
  const n = size(xs) / xs[1]!;
  const blend = (running: ValueId, batch: ValueId) => b.add(b.mulScalar(running, momentum), b.mulScalar(batch, 1 - momentum));
  const newMean = blend(mean, batchMean);
  const newVar = blend(variance, n > 1 ? b.mulScalar(batchVar, n / (n - 1)) : batchVar);
  const st = ctx.importState;
  st.addUpdate(mean, newMean, ctx);
  st.addUpdate(variance, newVar, ctx);
  return [y, newMean, newVar, batchMean, batchVar].slice(0, Math.max(1, ctx.node.outputs.length));
}

/**
 * LayerNormalization (opset 17): statistics over axes axis..rank-1; outputs [Y, Mean, InvStdDev]
 * as the IR op. A scale or bias that only broadcasts to the normalized shape is expanded.
 */
function LayerNormalization(ctx: NodeContext): (Sym | null)[] {
  const b = ctx.b;
  const x = ctx.value(0);
  const xs = b.shape(x);
  let axis = ctx.int('axis', -1);
  if (axis < 0) axis += xs.length;
  if (axis < 0 || axis >= xs.length) ctx.fail(`axis ${ctx.int('axis', -1)} out of range for rank ${xs.length}`, 'shape');
  const norm = xs.slice(axis);
  const fit = (v: ValueId) => {
    const s = b.shape(v);
    if (s.length > norm.length) ctx.fail(`scale/bias of shape [${s}] has more dims than the normalized shape [${norm}]`, 'shape');
    return b.expand(b.reshape(v, [...new Array<number>(norm.length - s.length).fill(1), ...s]), norm);
  };
  const inputs = [x, fit(ctx.valueAs(1, b.dtype(x)))];
  if (ctx.has(2)) inputs.push(fit(ctx.valueAs(2, b.dtype(x))));
  return b.op('layer_norm', inputs, { axis, epsilon: ctx.float('epsilon', 1e-5) });
}

/**
 * Normalizes x over the last axis of its view `view` (same element count, leading dims kept) with
 * one layer_norm of unit scale and no bias; returns the result in the view's shape. layer_norm
 * takes the biased variance and invStd = 1/sqrt(var + epsilon), as InstanceNormalization and
 * GroupNormalization do, and its gradient rule covers every decomposition built on it.
 */
function normalizeLastAxis(ctx: NodeContext, x: ValueId, view: Shape, epsilon: number): ValueId {
  const b = ctx.b;
  const d = view[view.length - 1]!;
  const rows = b.reshape(x, view);
  const ones = b.expand(b.scalarLike(1, x), [d]);
  return b.op1('layer_norm', [rows, ones], { axis: view.length - 1, epsilon });
}

/** Input 0 as a float value of rank >= `minRank`, with its shape. */
function floatInput(ctx: NodeContext, minRank: number): { x: ValueId; xs: Shape } {
  const x = ctx.value(0);
  const xs = ctx.b.shape(x);
  const dtype = ctx.b.dtype(x);
  if (!isFloat(dtype)) ctx.fail(`input X must be a float tensor, got ${dtype}`, 'dtype');
  if (xs.length < minRank)
    ctx.fail(`input X must be [N, C${minRank > 2 ? ', D1' : ''}, ...] (rank >= ${minRank}), got shape ${fmtShape(xs)}`, 'shape');
  return { x, xs };
}

/** Input i (a scale or bias) in `like`'s dtype; its shape must be `want`. */
function affineInput(ctx: NodeContext, i: number, like: ValueId, what: string, want: Shape, hint: string): ValueId {
  const v = ctx.valueAs(i, ctx.b.dtype(like));
  const s = ctx.b.shape(v);
  if (!shapeEq(s, want)) ctx.fail(`${what} must have shape ${fmtShape(want)}, got ${fmtShape(s)}: ${hint}`, 'shape');
  return v;
}

/** The epsilon attribute (default 1e-5), which must be finite and >= 0. */
function epsilonAttr(ctx: NodeContext): number {
  const eps = ctx.float('epsilon', 1e-5);
  if (!(Number.isFinite(eps) && eps >= 0)) ctx.fail(`epsilon must be a finite number >= 0, got ${eps}`);
  return eps;
}

/** y * scale + bias with scale and bias of shape [k] broadcast along axis 1 of y. */
function affineAxis1(ctx: NodeContext, y: ValueId, scale: ValueId, bias: ValueId): ValueId {
  const b = ctx.b;
  const ys = b.shape(y);
  const bcast = ys.map((d, i) => (i === 1 ? d : 1)).slice(1);
  return b.add(b.mul(y, b.reshape(scale, bcast)), b.reshape(bias, bcast));
}

/**
 * InstanceNormalization (https://onnx.ai/onnx/operators/onnx__InstanceNormalization.html):
 * y = scale[c] * (x - mean) / sqrt(var + epsilon) + B[c], statistics over the spatial axes of
 * each (n, c). As x viewed [N, C, D1*...*Dn]: layer_norm over the last axis, then the
 * per-channel affine. PyTorch's nn.GroupNorm exports (opset <= 17) run through this op too.
 */
function InstanceNormalization(ctx: NodeContext): (Sym | null)[] {
  const b = ctx.b;
  const { x, xs } = floatInput(ctx, 3);
  const c = xs[1]!;
  const hint = 'one value per channel (axis 1 of X)';
  const scale = affineInput(ctx, 1, x, 'scale', [c], hint);
  const bias = affineInput(ctx, 2, x, 'B', [c], hint);
  const y = normalizeLastAxis(ctx, x, [xs[0]!, c, size(xs.slice(2))], epsilonAttr(ctx));
  return [affineAxis1(ctx, b.reshape(y, xs), scale, bias)];
}

/**
 * GroupNormalization (https://onnx.ai/onnx/operators/onnx__GroupNormalization.html): the C
 * channels split into num_groups groups of C / num_groups consecutive channels, each normalized
 * over its channels and spatial axes together. Opset 18 takes scale and bias per group (shape
 * [num_groups], applied to the [N, num_groups, ...] view); opset 21 per channel (shape [C]).
 * stash_type (opset 21: the precision of the statistics) is ignored: they are computed in X's dtype.
 */
function GroupNormalization(ctx: NodeContext): (Sym | null)[] {
  const b = ctx.b;
  if (ctx.opset < 18) ctx.fail(`GroupNormalization exists from opset 18, but the model imports the default domain at opset ${ctx.opset}`, 'import');
  const groups = ctx.int('num_groups');
  if (groups === undefined) return ctx.fail("attribute 'num_groups' is required");
  const { x, xs } = floatInput(ctx, 2);
  const c = xs[1]!;
  if (groups < 1) ctx.fail(`num_groups must be >= 1, got ${groups}`);
  if (c % groups !== 0) ctx.fail(`num_groups=${groups} does not divide the ${c} input channels (axis 1 of X, shape ${fmtShape(xs)})`);
  const perGroup = ctx.opset < 21;
  const want = perGroup ? groups : c;
  const hint = perGroup
    ? `opset ${ctx.opset} takes one value per group (per-channel scale and bias are opset 21)`
    : `opset ${ctx.opset} takes one value per channel (per-group scale and bias were opset 18)`;
  const scale = affineInput(ctx, 1, x, 'scale', [want], hint);
  const bias = affineInput(ctx, 2, x, 'bias', [want], hint);
  const view = [xs[0]!, groups, size(xs.slice(1)) / groups];
  const y = normalizeLastAxis(ctx, x, view, epsilonAttr(ctx));
  if (perGroup) return [b.reshape(affineAxis1(ctx, y, scale, bias), xs)];
  return [affineAxis1(ctx, b.reshape(y, xs), scale, bias)];
}

/**
 * LRN (https://onnx.ai/onnx/operators/onnx__LRN.html), on NCHW input:
 * y = x / (bias + alpha / size * square_sum)^beta, square_sum[c] the sum of x^2 over channels
 * c - floor((size - 1) / 2) .. c + ceil((size - 1) / 2), clipped to the channel range. As x^2
 * viewed [N, 1, C, H*W]: one avg_pool2d with an [size, 1] window, zero padding
 * [floor((size-1)/2), ceil((size-1)/2)] along C counted in the divisor (so avg = square_sum / size
 * and the base is bias + alpha * avg), then x * pow(base, -beta).
 */
function LRN(ctx: NodeContext): (Sym | null)[] {
  const b = ctx.b;
  const n = ctx.int('size');
  if (n === undefined) return ctx.fail("attribute 'size' is required");
  if (n < 1) ctx.fail(`size must be a positive integer, got ${n}`);
  const alpha = ctx.float('alpha', 1e-4);
  const beta = ctx.float('beta', 0.75);
  const bias = ctx.float('bias', 1);
  for (const [name, v] of [['alpha', alpha], ['beta', beta], ['bias', bias]] as const)
    if (!Number.isFinite(v)) ctx.fail(`${name} must be a finite number, got ${v}`);
  const { x, xs } = floatInput(ctx, 0); // the dtype check; the rank must be exactly 4
  if (xs.length !== 4) ctx.fail(`input X must be [N, C, H, W] (rank 4), got shape ${fmtShape(xs)}`, 'shape');
  const [batch, c, h, w] = xs as [number, number, number, number];
  const sq = b.reshape(b.mul(x, x), [batch, 1, c, h * w]);
  const pads = [Math.floor((n - 1) / 2), 0, Math.ceil((n - 1) / 2), 0];
  const avg = b.op1('avg_pool2d', [sq], { kernel: [n, 1], strides: [1, 1], pads, ceilMode: false, countIncludePad: true });
  const base = b.add(b.scalarLike(bias, x), b.mulScalar(b.reshape(avg, xs), alpha));
  return [b.mul(x, b.op1('pow', [base, b.scalarLike(-beta, x)], {}))];
}

/**
 * Dropout: ratio is an attribute before opset 12 and an optional constant input from 12
 * (default 0.5). With dropout 'off' it is the identity; with 'on' every Dropout applies its
 * ratio through the IR dropout op, fed by the program's step counter. The boolean mask output
 * is provided only in 'on' mode.
 */
function Dropout(ctx: NodeContext): (Sym | null)[] {
  if (ctx.opts.dropout !== 'on') return [ctx.sym(0), null];
  const b = ctx.b;
  const ratio = ctx.opset < 12 ? ctx.float('ratio', 0.5) : ctx.has(1) ? constScalar(ctx.const(1, 'ratio'), 'ratio', ctx.where) : 0.5;
  if (ratio === 0) return [ctx.sym(0), null];
  const st = ctx.importState;
  const seed = ctx.int('seed') ?? st.nextDropoutSeed();
  const [y, mask] = b.op('dropout', [ctx.value(0), st.dropoutCounter()], { ratio, seed }) as [ValueId, ValueId];
  const keep = ctx.wantsOutput(1) ? b.op1('greater', [mask, b.scalarLike(0, mask)], {}) : null;
  return [y, keep];
}

export const normHandlers: HandlerTable = { BatchNormalization, LayerNormalization, InstanceNormalization, GroupNormalization, LRN, Dropout };
