/**
 * Fast transpose of 32-bit elements (wasm-transpose.ts). The permutation is first simplified:
 * size-1 axes dropped and output axes that are contiguous in the input merged, so the attention
 * head split [B,S,H,Dh] -> [B,H,S,Dh] becomes a rank-4 copy of Dh-long rows and K^T
 * [B,H,S,Dh] -> [B,H,Dh,S] a batch of 2D transposes. Layouts still above rank 4 stay with the
 * reference kernel.
 */
import { stridesOf, type Shape } from '@pockengine/core';
import type { CpuTensor } from '../tensor.js';
import { load, place, put, store, type Engine, type TransposeCall, type VectorOps } from './engine.js';

type Four = [number, number, number, number];

/** Output dims and input strides (elements) of the permuted copy, merged and padded to rank 4; null above rank 4. */
export function transposeLayout(shape: Shape, perm: readonly number[]): { dims: Four; strides: Four } | null {
  const xs = stridesOf(shape);
  const dims: number[] = [];
  const strides: number[] = [];
  for (const p of perm) {
    const d = shape[p]!;
    if (d === 1) continue;
    const s = xs[p]!;
    const last = dims.length - 1;
    // out axis follows the previous one contiguously in the input: merge them
    if (last >= 0 && strides[last] === s * d) {
      dims[last]! *= d;
      strides[last] = s;
    } else {
      dims.push(d);
      strides.push(s);
    }
  }
  if (dims.length > 4) return null;
  while (dims.length < 4) {
    dims.unshift(1);
    strides.unshift(0);
  }
  if (strides[3] === 0) strides[3] = 1;
  return { dims: dims as Four, strides: strides as Four };
}

/** out = transpose(x, perm) for a transposeLayout. */
export function transposeForward(e: Engine, v: VectorOps, x: CpuTensor, out: CpuTensor, layout: Pick<TransposeCall, 'dims' | 'strides'>): void {
  const n = out.data.length;
  e.reset();
  let xp = load(e, x);
  const yp = place(e, out);
  // a permuted copy cannot run in place: read overlapping input from a copy
  if (xp < yp + n && yp < xp + n) xp = put(e, e.heap().slice(xp, xp + n));
  v.transpose({ x: xp, y: yp, ...layout });
  store(e, yp, out);
}
