import { byteSize } from '../dtype.js';
import type { TypeInfo } from '../ir/graph.js';
import { size } from '../shape.js';
import type { Cost } from './op-def.js';

export function bytesOf(t: TypeInfo): number {
  return size(t.shape) * byteSize(t.dtype);
}

/** Bytes read plus bytes written. */
export function movedBytes(inputs: readonly TypeInfo[], outputs: readonly TypeInfo[]): number {
  let b = 0;
  for (const t of inputs) b += bytesOf(t);
  for (const t of outputs) b += bytesOf(t);
  return b;
}

/** Cost of an op doing `flopsPerElement` operations per output element. */
export function elementwiseCost(flopsPerElement = 1) {
  return (inputs: readonly TypeInfo[], outputs: readonly TypeInfo[]): Cost => ({
    flops: flopsPerElement * outputs.reduce((s, o) => s + size(o.shape), 0),
    bytes: movedBytes(inputs, outputs),
  });
}

/** Cost of pure data movement (reshape, transpose, concat ...). */
export function movementCost(inputs: readonly TypeInfo[], outputs: readonly TypeInfo[]): Cost {
  return { flops: 0, bytes: movedBytes(inputs, outputs) };
}
