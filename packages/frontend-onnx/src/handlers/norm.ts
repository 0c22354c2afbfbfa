/**
 * BatchNormalization, LayerNormalization and Dropout: the ops whose meaning depends on the
 * training setting chosen at import (ImportOptions.batchNorm / dropout), not on the file.
 */
import { size, type ValueId } from '@pockengine/core';
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

export const normHandlers: HandlerTable = { BatchNormalization, LayerNormalization, Dropout };
