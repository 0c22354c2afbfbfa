/**
 * Keras / TF.js activation functions (tfjs-layers src/activations.ts) as IR, shared by the
 * layers importer (the `activation` config of Dense, Conv2D..., the Activation layer) and the
 * graph importer (fused ops of _FusedConv2D / _FusedMatMul). Names are compared after
 * normalization, so TF.js's 'hardSigmoid' and Python Keras' 'hard_sigmoid' are one entry.
 * Elementwise activations keep the operand's layout; softmax maps its axis.
 */
import { PockError, type ErrorLocation, type GraphBuilder, type ValueId } from '@pockengine/core';
import { act, physicalAxis, type Act } from './layout.js';

/** 'hard_sigmoid', 'hardSigmoid' -> 'hardsigmoid'. */
export const normName = (s: string): string => s.toLowerCase().replace(/_/g, '');

/** exp(min(x, 0)) - 1: the negative branch of elu, with no overflow for large x (and no inf * 0 in its gradient). */
function expm1Neg(b: GraphBuilder, x: ValueId): ValueId {
  const e = b.op1('exp', [b.op1('minimum', [x, b.scalarLike(0, x)], {})], {});
  return b.sub(e, b.scalarLike(1, x));
}

/** x if x > 0 else alpha * (exp(x) - 1) (Clevert et al. 2015; tf.elu). */
export function elu(b: GraphBuilder, x: ValueId, alpha = 1): ValueId {
  const pos = b.op1('greater', [x, b.scalarLike(0, x)], {});
  const neg = expm1Neg(b, x);
  return b.where(pos, x, alpha === 1 ? neg : b.mulScalar(neg, alpha));
}

type Unary = (b: GraphBuilder, x: ValueId) => ValueId;

/** Elementwise activations by normalized name. */
const ELEMENTWISE: Record<string, Unary> = {
  linear: (_b, x) => x,
  relu: (b, x) => b.op1('relu', [x], {}),
  relu6: (b, x) => b.op1('clip', [x], { min: 0, max: 6 }),
  sigmoid: (b, x) => b.op1('sigmoid', [x], {}),
  tanh: (b, x) => b.op1('tanh', [x], {}),
  // tfjs Gelu: x * 0.5 * (1 + erf(x / sqrt 2)); 'gelu_new' is the tanh approximation
  gelu: (b, x) => b.op1('gelu', [x], { approximate: 'none' }),
  gelunew: (b, x) => b.op1('gelu', [x], { approximate: 'tanh' }),
  swish: (b, x) => b.op1('silu', [x], {}),
  silu: (b, x) => b.op1('silu', [x], {}),
  elu: (b, x) => elu(b, x),
  // tf.selu constants (Klambauer et al. 2017)
  selu: (b, x) => b.mulScalar(elu(b, x, 1.6732632423543772), 1.0507009873554805),
  softplus: (b, x) => b.op1('softplus', [x], {}),
  softsign: (b, x) => b.div(x, b.add(b.op1('abs', [x], {}), b.scalarLike(1, x))),
  // tfjs-layers hardSigmoid: clip(0.2 x + 0.5, 0, 1) (Keras 2; Keras 3 changed it to relu6(x + 3) / 6)
  hardsigmoid: (b, x) => b.op1('hard_sigmoid', [x], { alpha: 0.2, beta: 0.5 }),
  mish: (b, x) => b.mul(x, b.op1('tanh', [b.op1('softplus', [x], {})], {})),
  exponential: (b, x) => b.op1('exp', [x], {}),
};

/** Names of every supported activation (normalized), for the coverage table. */
export const ACTIVATIONS: readonly string[] = [...Object.keys(ELEMENTWISE), 'softmax', 'logsoftmax'].sort();

export function isSoftmaxName(name: string | null | undefined): boolean {
  return name != null && normName(name) === 'softmax';
}

/**
 * Applies activation `name` (null / undefined: linear) to `x`. Softmax and log-softmax run over
 * the TF.js axis `axis` (default the last). Returns null for an unknown name.
 */
export function applyActivation(b: GraphBuilder, x: Act, name: string | null | undefined, axis = -1): Act | null {
  const n = normName(name ?? 'linear');
  if (n === 'softmax' || n === 'logsoftmax') {
    const ax = physicalAxis(b, x, axis);
    return act(b.op1(n === 'softmax' ? 'softmax' : 'log_softmax', [x.v], { axis: ax }), x.nchw);
  }
  const f = ELEMENTWISE[n];
  if (!f) return null;
  const y = f(b, x.v);
  return y === x.v ? x : act(y, x.nchw);
}

/** applyActivation that throws PockError('unsupported-op') for an unknown name. */
export function activation(b: GraphBuilder, x: Act, name: string | null | undefined, where: ErrorLocation, axis = -1): Act {
  const y = applyActivation(b, x, name, axis);
  if (!y)
    throw new PockError('unsupported-op', `activation '${name}' is not supported (supported: ${ACTIVATIONS.join(', ')})`, where);
  return y;
}
