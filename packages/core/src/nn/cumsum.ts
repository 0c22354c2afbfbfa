/**
 * Cumulative sum along one axis for frontends (ONNX CumSum, TF Cumsum), as one matmul with a
 * constant 0/1 triangular [n, n] matrix (n the axis length): x viewed [pre, n] times T when the
 * axis is last, otherwise T' [n, n] times x viewed [pre, n, post]. The matmul's gradient rule is
 * the gradient; no op of its own.
 */
import { PockError, type ErrorLocation } from '../errors.js';
import type { GraphBuilder } from '../ir/builder.js';
import type { ValueId } from '../ir/graph.js';
import { size } from '../shape.js';
import { tensor } from '../tensor.js';

/** Largest triangular matrix built (elements). */
const MAX_TRIANGLE = 2 ** 26;

/** Whether element i along the axis contributes to output j: i <= j (i >= j reversed), strictly when exclusive. */
export function cumsumContributes(i: number, j: number, exclusive: boolean, reverse: boolean): boolean {
  if (reverse) return exclusive ? i > j : i >= j;
  return exclusive ? i < j : i <= j;
}

/** cumsum of float x along `axis` (already normalised to 0..rank-1). */
export function cumsum(b: GraphBuilder, x: ValueId, axis: number, exclusive: boolean, reverse: boolean, name: string, where: ErrorLocation = {}): ValueId {
  const xs = b.shape(x);
  const dtype = b.dtype(x);
  if (dtype !== 'float32' && dtype !== 'float64') throw new PockError('dtype', `cumsum of a computed ${dtype} tensor is not supported (float only)`, where);
  if (axis < 0 || axis >= xs.length) throw new PockError('shape', `cumsum axis ${axis} out of range for shape [${xs}]`, where);
  const n = xs[axis]!;
  if (size(xs) === 0) return x;
  if (n * n > MAX_TRIANGLE) throw new PockError('shape', `axis length ${n} is too long: cumsum runs as a matmul with an [${n}, ${n}] constant`, where);
  const pre = size(xs.slice(0, axis));
  const post = size(xs.slice(axis + 1));
  const tri = new Array<number>(n * n);
  let y: ValueId;
  if (post === 1) {
    // y[p, j] = sum_i x[p, i] * T[i, j]
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) tri[i * n + j] = cumsumContributes(i, j, exclusive, reverse) ? 1 : 0;
    y = b.matmul(b.reshape(x, [pre, n]), b.constant(tensor(dtype, [n, n], tri), `${name}:cumsum`));
  } else {
    // y[p, j, q] = sum_i T'[j, i] * x[p, i, q]
    for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) tri[j * n + i] = cumsumContributes(i, j, exclusive, reverse) ? 1 : 0;
    y = b.matmul(b.constant(tensor(dtype, [n, n], tri), `${name}:cumsum`), b.reshape(x, pre === 1 ? [n, post] : [pre, n, post]));
  }
  return b.reshape(y, xs);
}
