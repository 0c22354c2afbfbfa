/**
 * Bit-exact comparison for the data-movement and exact unary kernels: values with NaNs of
 * distinct payloads and negative zeros, and a check that reports the first differing element.
 */
import { expect } from 'vitest';
import type { CpuTensor } from '../../src/tensor.js';
import { rand } from './helpers.js';

export const bits = (t: CpuTensor) => new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length);

/** Random values in [-1, 1) with NaNs of distinct payloads and negative zeros mixed in. */
export function payloads(shape: readonly number[], seed: number): CpuTensor {
  const t = rand(shape, seed);
  const u = bits(t);
  for (let i = 0; i < u.length; i += 5) u[i] = i % 10 === 0 ? 0x7fc00000 + (i & 0xffff) : 0x80000000;
  return t;
}

/** Identical bits, element by element. */
export function expectSameBits(got: CpuTensor, want: CpuTensor, what: string): void {
  const g = bits(got);
  const w = bits(want);
  expect(g.length, what).toBe(w.length);
  let at = 0;
  while (at < w.length && g[at] === w[at]) at++;
  expect(at < w.length ? `element ${at}: got 0x${g[at]!.toString(16)}, want 0x${w[at]!.toString(16)}` : 'identical', what).toBe('identical');
}

/** Identical values (Object.is: zeros by sign, NaN equal to NaN whatever its payload). */
export function expectSame(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  expect(got.length, what).toBe(want.length);
  let at = 0;
  while (at < want.length && Object.is(got[at], want[at])) at++;
  expect(at < want.length ? `element ${at}: got ${got[at]}, want ${want[at]}` : 'identical', what).toBe('identical');
}
