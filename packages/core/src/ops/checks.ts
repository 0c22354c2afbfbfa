import { isFloat, type DType } from '../dtype.js';
import { PockError, type ErrorLocation } from '../errors.js';
import type { TypeInfo } from '../ir/graph.js';
import { fmtShape, shapeEq, type Shape } from '../shape.js';

/** Shared argument checks for op definitions (shape logic lives in core, never in backends). */
export function sameDtype(inputs: readonly TypeInfo[], where: ErrorLocation): DType {
  const d = inputs[0]!.dtype;
  for (const t of inputs)
    if (t.dtype !== d)
      throw new PockError('dtype', `operands have different dtypes: ${inputs.map((i) => i.dtype).join(', ')}; insert a cast`, where);
  return d;
}

export function requireFloat(t: TypeInfo, what: string, where: ErrorLocation): void {
  if (!isFloat(t.dtype)) throw new PockError('dtype', `${what} must be float32 or float64, got ${t.dtype}`, where);
}

export function requireInteger(t: TypeInfo, what: string, where: ErrorLocation): void {
  if (t.dtype !== 'int32' && t.dtype !== 'int64')
    throw new PockError('dtype', `${what} must be int32 or int64, got ${t.dtype}`, where);
}

export function requireRank(t: TypeInfo, rank: number, what: string, where: ErrorLocation): void {
  if (t.shape.length !== rank)
    throw new PockError('shape', `${what} must have rank ${rank}, got shape ${fmtShape(t.shape)}`, where);
}

export function requireAttr(cond: unknown, message: string, where: ErrorLocation): asserts cond {
  if (!cond) throw new PockError('attr', message, where);
}

export function requireShape(t: TypeInfo, shape: Shape, what: string, where: ErrorLocation): void {
  if (!shapeEq(t.shape, shape)) throw new PockError('shape', `${what} must have shape ${fmtShape(shape)}, got ${fmtShape(t.shape)}`, where);
}
