/**
 * Recognisers for jax.nn.softmax / log_softmax, which jax-js decomposes into
 *   s = stop_gradient(max(x, axis)); e = exp(x - s); softmax = e * 1/sum(e, axis)
 *   n = x - stop_gradient(max(x, axis)); log_softmax = n - log(sum(exp(n), axis))
 * Matching on the IR already emitted (after the sub / div rewrites) turns each into one op, so
 * backward saves one tensor instead of the chain. Only single-axis reductions match.
 */
import type { ValueId } from '@pockengine/core';
import type { Importer } from '../context.js';

/** Follows a reshape (jax-js's keepdims) to the reduction under it. */
function reduction(imp: Importer, v: ValueId, op: string): { x: ValueId; axis: number } | undefined {
  let p = imp.producer(v);
  if (p?.op === 'reshape') p = imp.producer(p.inputs[0]!);
  const axes = p?.attrs.axes as number[] | undefined;
  if (p?.op !== op || axes?.length !== 1) return undefined;
  return { x: p.inputs[0]!, axis: axes[0]! };
}

/** n = x - stop_gradient(max(x, axis)): returns x and the axis. */
function shiftedByMax(imp: Importer, n: ValueId): { x: ValueId; axis: number } | undefined {
  const p = imp.producer(n);
  if (p?.op !== 'sub') return undefined;
  const [x, s] = p.inputs as [ValueId, ValueId];
  const sg = imp.producer(s);
  if (sg?.op !== 'stop_gradient') return undefined;
  const m = reduction(imp, sg.inputs[0]!, 'reduce_max');
  return m && m.x === x ? m : undefined;
}

/** e / sum(e, axis) with e = exp(x - stop_gradient(max(x, axis))) -> softmax(x, axis). */
export function matchSoftmax(imp: Importer, num: ValueId, den: ValueId): ValueId | undefined {
  const s = reduction(imp, den, 'reduce_sum');
  if (!s || s.x !== num) return undefined;
  const e = imp.producer(num);
  if (e?.op !== 'exp') return undefined;
  const m = shiftedByMax(imp, e.inputs[0]!);
  if (!m || m.axis !== s.axis) return undefined;
  return imp.op('softmax', [m.x], { axis: m.axis });
}

/** n - log(sum(exp(n), axis)) with n = x - stop_gradient(max(x, axis)) -> log_softmax(x, axis). */
export function matchLogSoftmax(imp: Importer, n: ValueId, r: ValueId): ValueId | undefined {
  const lg = imp.producer(r);
  if (lg?.op !== 'log') return undefined;
  const s = reduction(imp, lg.inputs[0]!, 'reduce_sum');
  const e = s && imp.producer(s.x);
  if (e?.op !== 'exp' || e.inputs[0] !== n) return undefined;
  const m = shiftedByMax(imp, n);
  if (!m || m.axis !== s!.axis) return undefined;
  return imp.op('log_softmax', [m.x], { axis: m.axis });
}
