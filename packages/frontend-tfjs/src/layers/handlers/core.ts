/**
 * Core layers (tfjs-layers src/layers/core.ts, advanced_activations.ts, embeddings.ts):
 * InputLayer, Dense, Activation and the activation layers, Flatten, Reshape, Permute,
 * RepeatVector, Rescaling, Embedding, and the noise / dropout layers (identity at inference).
 */
import { size, type ValueId } from '@pockengine/core';
import { elu } from '../../activations.js';
import { act, aligned, nhwc, sourceShape, type Act } from '../../layout.js';
import type { LayerContext } from '../context.js';
import type { LayerHandlerTable } from './types.js';

/** y = x kernel + bias with kernel [in, out] (no transpose: TF.js Dense keeps [in, out]). */
function Dense(ctx: LayerContext): Act[] {
  const b = ctx.b;
  const x = nhwc(b, ctx.input());
  let y = b.matmul(x, ctx.weight('kernel'));
  if (ctx.cfg('useBias', true)) y = b.add(y, ctx.weight('bias'));
  return [ctx.activate(act(y))];
}

/**
 * The Dropout family: TF.js applies them only when called with training = true. The import is
 * the inference behaviour (identity); training-mode noise is not reproduced.
 */
const identity = (ctx: LayerContext): Act[] => [ctx.input()];

function ReLU(ctx: LayerContext): Act[] {
  const x = ctx.input();
  const max = ctx.cfg<number | null>('maxValue', null);
  if (ctx.cfg('negativeSlope', 0) !== 0 || ctx.cfg('threshold', 0) !== 0) ctx.unsupported('negative_slope / threshold are not supported');
  const y = max === null ? ctx.b.op1('relu', [x.v], {}) : ctx.b.op1('clip', [x.v], { min: 0, max });
  return [act(y, x.nchw)];
}

function LeakyReLU(ctx: LayerContext): Act[] {
  const x = ctx.input();
  return [act(ctx.b.op1('leaky_relu', [x.v], { alpha: ctx.cfg('alpha', 0.3) }), x.nchw)];
}

function ELU(ctx: LayerContext): Act[] {
  const x = ctx.input();
  return [act(elu(ctx.b, x.v, ctx.cfg('alpha', 1)), x.nchw)];
}

function ThresholdedReLU(ctx: LayerContext): Act[] {
  const b = ctx.b;
  const x = ctx.input();
  const keep = b.op1('greater', [x.v, b.scalarLike(ctx.cfg('theta', 1), x.v)], {});
  return [act(b.where(keep, x.v, b.scalarLike(0, x.v)), x.nchw)];
}

/** x if x > 0 else alpha * x, alpha of shape input.shape[1:] (1 along shared_axes). */
function PReLU(ctx: LayerContext): Act[] {
  const b = ctx.b;
  const x = ctx.input();
  const alpha = ctx.weight('alpha');
  const { vals, nchw } = aligned(b, [x, act(alpha)]);
  const [xv, av] = vals as [ValueId, ValueId];
  const pos = b.op1('greater', [xv, b.scalarLike(0, xv)], {});
  return [act(b.where(pos, xv, b.mul(av, xv)), nchw)];
}

function Softmax(ctx: LayerContext): Act[] {
  const axis = ctx.cfg<number | number[]>('axis', -1);
  if (Array.isArray(axis) && axis.length !== 1) ctx.unsupported(`softmax over several axes ${JSON.stringify(axis)} is not supported`);
  return [ctx.activate(ctx.input(), 'softmax', Array.isArray(axis) ? axis[0]! : axis)];
}

function Flatten(ctx: LayerContext): Act[] {
  const x = ctx.input();
  const s = sourceShape(ctx.b, x);
  return [act(ctx.b.reshape(nhwc(ctx.b, x), [s[0]!, size(s.slice(1))]))];
}

function Reshape(ctx: LayerContext): Act[] {
  const x = ctx.input();
  const target = ctx.cfg<(number | null)[]>('targetShape', []).map((d) => d ?? -1);
  return [act(ctx.b.reshape(nhwc(ctx.b, x), [sourceShape(ctx.b, x)[0]!, ...target]))];
}

/** dims are 1-based and exclude the batch axis (Keras Permute). */
function Permute(ctx: LayerContext): Act[] {
  const dims = ctx.cfg<number[]>('dims', []);
  return [act(ctx.b.transpose(nhwc(ctx.b, ctx.input()), [0, ...dims]))];
}

function RepeatVector(ctx: LayerContext): Act[] {
  const b = ctx.b;
  const x = nhwc(b, ctx.input());
  const [n, d] = b.shape(x) as [number, number];
  const reps = ctx.cfg('n', 1);
  return [act(b.expand(b.reshape(x, [n, 1, d]), [n, reps, d]))];
}

/** x * scale + offset (tfjs-layers preprocessing Rescaling). */
function Rescaling(ctx: LayerContext): Act[] {
  const b = ctx.b;
  const x = ctx.input();
  let y = b.mulScalar(x.v, ctx.cfg('scale', 1));
  const offset = ctx.cfg('offset', 0);
  if (offset !== 0) y = b.add(y, b.scalarLike(offset, y));
  return [act(y, x.nchw)];
}

/** embeddings[ids]: TF.js casts the (usually float32) ids to int32 first. maskZero: id 0 is padding (the mask). */
function Embedding(ctx: LayerContext): Act[] {
  const b = ctx.b;
  const ids = b.cast(nhwc(b, ctx.input()), 'int32');
  const y = b.op1('gather', [ctx.weight('embeddings'), ids], { axis: 0 });
  if (!ctx.cfg('maskZero', false)) return [act(y)];
  if (b.rank(ids) !== 2) ctx.unsupported(`mask_zero needs [batch, time] ids, got [${b.shape(ids)}]`);
  return [act(y, false, b.op1('logical_not', [b.op1('equal', [ids, b.scalar(0, 'int32')], {})], {}))];
}

/** Masking: steps whose features all equal maskValue are padding (the mask) and read 0. */
function Masking(ctx: LayerContext): Act[] {
  const b = ctx.b;
  const x = nhwc(b, ctx.input());
  if (b.rank(x) !== 3) ctx.unsupported(`expects a [batch, time, features] input, got [${b.shape(x)}]`);
  const differs = b.cast(b.op1('logical_not', [b.op1('equal', [x, b.scalarLike(ctx.cfg('maskValue', 0), x)], {})], {}), b.dtype(x));
  const any = b.op1('reduce_max', [differs], { axes: [2], keepdims: true });
  const [n, t] = b.shape(x) as [number, number];
  return [act(b.mul(x, any), false, b.reshape(b.op1('greater', [any, b.scalarLike(0, any)], {}), [n, t]))];
}

export const coreHandlers: LayerHandlerTable = {
  Masking,
  InputLayer: (ctx) => [ctx.graphInput()],
  Dense,
  Activation: (ctx) => [ctx.activate(ctx.input())],
  ReLU,
  LeakyReLU,
  ELU,
  ThresholdedReLU,
  PReLU,
  Softmax,
  Flatten,
  Reshape,
  Permute,
  RepeatVector,
  Rescaling,
  Embedding,
  Dropout: identity,
  SpatialDropout1D: identity,
  GaussianNoise: identity,
  GaussianDropout: identity,
  AlphaDropout: identity,
};
