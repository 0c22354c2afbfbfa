/**
 * BatchNormalization and LayerNormalization (tfjs-layers src/layers/normalization.ts).
 * gamma / beta are params, moving_mean / moving_variance buffers, all under their TF.js names.
 */
import { tensor, type GraphBuilder, type ValueId } from '@pockengine/core';
import { act, nchw, nhwc, sourceShape, type Act } from '../../layout.js';
import type { LayerContext } from '../context.js';
import type { LayerHandlerTable } from './types.js';

function filled(b: GraphBuilder, like: ValueId, n: number, v: number): ValueId {
  return b.constant(tensor(b.dtype(like), [n], new Array<number>(n).fill(v)));
}

/**
 * The IR batch_norm normalizes per axis 1. A rank-4 tensor normalized over its TF.js channel axis
 * (-1) runs NCHW; otherwise the normalized axis is moved to position 1 and back.
 *
 * 'frozen' (default): y = (x - moving_mean) / sqrt(moving_variance + eps) * gamma + beta, as
 * TF.js with training = false. 'train': batch mean and biased variance over every other axis, and
 * moving = momentum * moving + (1 - momentum) * batch for both statistics, as TF.js's
 * BatchNormalization.call with training = true (it updates with the biased variance).
 */
function BatchNormalization(ctx: LayerContext): Act[] {
  const b = ctx.b;
  const x = ctx.input();
  const rank = b.rank(x.v);
  const axis0 = ctx.cfg<number | number[]>('axis', -1);
  if (Array.isArray(axis0) && axis0.length !== 1) ctx.unsupported(`normalizing over several axes ${JSON.stringify(axis0)} is not supported`);
  const axis = ((Array.isArray(axis0) ? axis0[0]! : axis0) + rank) % rank;
  if (axis === 0) ctx.unsupported('normalizing over the batch axis is not supported');
  let xv: ValueId;
  let back: ((y: ValueId) => Act) | null = null;
  if (rank === 4 && axis === 3) {
    xv = nchw(b, x, ctx.where);
    back = (y) => act(y, true);
  } else {
    const src = nhwc(b, x);
    const perm = [0, axis, ...Array.from({ length: rank }, (_, i) => i).filter((i) => i !== 0 && i !== axis)];
    xv = axis === 1 ? src : b.transpose(src, perm);
    const inv = perm.map((_, i) => perm.indexOf(i));
    back = (y) => act(axis === 1 ? y : b.transpose(y, inv));
  }
  const c = sourceShape(b, x)[axis]!;
  const eps = ctx.cfg('epsilon', 1e-3);
  const gamma = ctx.cfg('scale', true) ? ctx.weight('gamma') : filled(b, xv, c, 1);
  const beta = ctx.cfg('center', true) ? ctx.weight('beta') : filled(b, xv, c, 0);
  const mean = ctx.buffer('moving_mean');
  const variance = ctx.buffer('moving_variance');
  if (ctx.opts.batchNorm !== 'train') return [back(b.op1('batch_norm', [xv, gamma, beta, mean, variance], { epsilon: eps, training: false }))];
  const [y, bMean, bVar] = b.op('batch_norm', [xv, gamma, beta, mean, variance], { epsilon: eps, training: true }) as [ValueId, ValueId, ValueId];
  const m = ctx.cfg('momentum', 0.99);
  const blend = (running: ValueId, batch: ValueId) => b.add(b.mulScalar(running, m), b.mulScalar(batch, 1 - m));
  b.update(mean, blend(mean, bMean));
  b.update(variance, blend(variance, bVar));
  return [back(y)];
}

/**
 * Statistics over `axis` (an int or a list), which must be the trailing axes of the TF.js
 * tensor; gamma / beta have the normalized shape. Biased variance, as tf.moments.
 */
function LayerNormalization(ctx: LayerContext): Act[] {
  const b = ctx.b;
  const x = nhwc(b, ctx.input());
  const s = b.shape(x);
  const r = s.length;
  const axes = [ctx.cfg<number | number[]>('axis', -1)].flat().map((a) => (a + r) % r).sort((p, q) => p - q);
  const first = axes[0]!;
  if (axes.some((a, i) => a !== first + i) || axes.at(-1) !== r - 1 || first === 0)
    ctx.unsupported(`axis ${JSON.stringify(ctx.cfg('axis', -1))} is not supported: only trailing axes (e.g. -1) of a rank-${r} input`);
  const norm = s.slice(first);
  const fit = (v: ValueId) => b.reshape(v, norm);
  const gamma = ctx.cfg('scale', true) ? fit(ctx.weight('gamma')) : b.expand(b.scalarLike(1, x), norm);
  const inputs = [x, gamma];
  if (ctx.cfg('center', true)) inputs.push(fit(ctx.weight('beta')));
  const eps = ctx.cfg('epsilon', 1e-3);
  return [act(b.op('layer_norm', inputs, { axis: first, epsilon: eps })[0]!)];
}

export const normHandlers: LayerHandlerTable = { BatchNormalization, LayerNormalization };
