import { PockError, type ErrorLocation } from './errors.js';

export type Shape = readonly number[];

export function size(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

export function shapeEq(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function fmtShape(s: Shape): string {
  return `[${s.join(',')}]`;
}

/** Numpy broadcasting of two shapes (https://numpy.org/doc/stable/user/basics.broadcasting.html). */
export function broadcastShapes(a: Shape, b: Shape, where?: ErrorLocation): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1)
      throw new PockError('shape', `shapes ${fmtShape(a)} and ${fmtShape(b)} do not broadcast`, where);
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Normalizes a possibly negative axis against `rank`. */
export function normAxis(axis: number, rank: number, where?: ErrorLocation): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new PockError('shape', `axis ${axis} out of range for rank ${rank}`, where);
  return a;
}

/**
 * The axes along which `from` was broadcast to reach `to` (leading new axes and size-1 axes that
 * grew); summing a gradient over them and reshaping gives the gradient of the smaller operand.
 */
export function broadcastAxes(from: Shape, to: Shape): number[] {
  const axes: number[] = [];
  const lead = to.length - from.length;
  for (let i = 0; i < to.length; i++) {
    if (i < lead) axes.push(i);
    else if (from[i - lead] === 1 && to[i] !== 1) axes.push(i);
  }
  return axes;
}
