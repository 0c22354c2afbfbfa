/**
 * Conformance of the fast reduce_sum and reduce_mean against the reference kernels. Both sum in
 * float64 (in different orders) and round once, so every result must be within one float32 ulp
 * of the reference's: |got - want| <= ulp(want), the spacing of float32 values at |want|
 * (2^-149 at zero); NaN and infinities must match exactly. Layouts: the last axis
 * ([rows, k] -> [rows]), leading axes ([k, cols] -> [cols]), middle axes ([outer, k, inner]),
 * with k and the column counts at 1, 3, 5, 17, 33 and 1000+ (every SIMD tail and the 16-column
 * blocks), two reduced runs around kept axes (a conv bias gradient over N, H, W), size-1 axes between reduced ones, keepdims either way, no axes, an empty reduced axis
 * (sum 0, mean NaN), inputs with NaN and infinities; heap-resident operands; three or more reduced
 * runs and float64 defer to the reference kernel.
 */
import type { ReduceAttrs } from '@pockengine/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFastKernels, reduceLayout } from '../../src/fast/index.js';
import { reduceKernels } from '../../src/kernels/reduce.js';
import type { CpuTensor } from '../../src/tensor.js';
import { counting } from './counting.js';
import { disposeAll, empty, engines, rand, type EngineCase } from './helpers.js';
import { residents } from './resident.js';

const OPS = ['reduce_sum', 'reduce_mean'] as const;

/** The float32 spacing at |v|: 2^(exponent - 23), at least the subnormal step 2^-149. */
function ulp(v: number): number {
  const a = Math.abs(v);
  return a < 2 ** -126 ? 2 ** -149 : 2 ** (Math.floor(Math.log2(a)) - 23);
}

/** Within one float32 ulp of the reference; non-finite values identical. */
function expectUlp(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  expect(got.length, what).toBe(want.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    const err = Number.isFinite(w) ? Math.abs(g - w) / ulp(w) : Object.is(g, w) ? 0 : Infinity;
    if (!(err <= worst)) {
      worst = Number.isNaN(err) ? Infinity : err;
      at = i;
    }
  }
  expect(worst, `${what}: worst error ${worst} ulp at ${at} (got ${got[at]}, want ${want[at]})`).toBeLessThanOrEqual(1);
}

/** Random values with a spread of magnitudes (so the sums are not all alike), plus NaN / infinities with `specials`. */
function values(shape: readonly number[], seed: number, specials = false): CpuTensor {
  const t = rand(shape, seed);
  for (let i = 0; i < t.data.length; i++) t.data[i] = t.data[i]! * 2 ** ((i * 7) % 13 - 6);
  if (specials) [NaN, Infinity, -Infinity].forEach((v, j) => (t.data[(j * 101) % t.data.length] = v));
  return t;
}

/** [input shape, axes, keepdims, fast (the layout is a contiguous run)]. */
const CASES: [number[], number[], boolean, boolean][] = [
  [[4, 32, 256], [-1], true, true],
  [[4, 32, 256], [2], false, true],
  [[4, 4, 32, 32], [3], true, true],
  [[7, 1], [1], false, true],
  [[5, 3], [1], false, true],
  [[3, 5], [1], false, true],
  [[2, 17], [-1], false, true],
  [[3, 1003], [1], true, true],
  [[4, 32, 256], [0, 1], false, true],
  [[4, 32, 1024], [0, 1], false, true],
  [[4, 32, 256], [0], false, true],
  [[1003, 3], [0], false, true],
  [[17, 5], [0], false, true],
  [[5, 33], [0], true, true],
  [[3, 1], [0], false, true],
  [[3, 7, 5], [1], false, true],
  [[2, 37, 19], [1], true, true],
  [[5, 3, 4, 33], [1, 2], false, true],
  [[4, 1, 6], [0, 2], false, true],
  [[2, 3, 1, 4, 5], [1, 3], true, true],
  [[6, 5], [], false, true],
  [[3, 0, 4], [1], false, true],
  // two runs of reduced axes around kept ones: [lead, outer, k] and [lead, outer, k, inner]
  [[3, 4, 5], [0, 2], false, true],
  [[3, 4, 5, 2], [0, 2], true, true],
  [[8, 6, 5, 7], [0, 2, 3], false, true],
  [[4, 19, 1, 33], [0, 3], true, true],
  [[2, 3, 1, 4, 5], [0, 1, 3], false, true],
  [[5, 3, 7, 37], [0, 2], false, true],
  [[3, 2, 17, 4, 3], [0, 1, 3], false, true],
  // three runs: the reference kernel
  [[3, 4, 5, 2], [1, 3], false, false],
  [[2, 3, 4, 5, 6], [0, 2, 4], true, false],
];

describe('fast reduce_sum / reduce_mean within one float32 ulp of the reference kernels', () => {
  let cases: EngineCase[] = [];
  beforeAll(async () => {
    cases = await engines();
  });
  afterAll(() => disposeAll(cases));

  for (const op of OPS)
    for (const [shape, axes, keepdims, fast] of CASES)
      it(`${op} [${shape}] axes [${axes}] keepdims ${keepdims}`, () => {
        const attrs: ReduceAttrs = { axes, keepdims };
        expect(reduceLayout(shape, axes) !== null, 'layout').toBe(fast);
        for (const specials of [false, true]) {
          const x = values(shape, 100 + shape.length, specials && hasElements(shape));
          const outShape = shape.flatMap((d, i) => (axes.map((a) => (a + shape.length) % shape.length).includes(i) ? (keepdims ? [1] : []) : [d]));
          const want = empty(outShape);
          reduceKernels[op]([x], [want], attrs);
          for (const { name, engine: e } of cases) {
            const { engine, calls } = counting(e);
            const got = empty(outShape);
            got.data.fill(12345);
            createFastKernels(() => engine)[op]([x], [got], attrs);
            expect(calls.get('reduceSum') ?? 0, `${name} used the fast kernel`).toBe(e.vector && fast ? 1 : 0);
            expectUlp(got.data, want.data, `${name}${specials ? ' with NaN / infinities' : ''}`);
          }
        }
      });

  it('on heap-resident buffers', () => {
    let ran = 0;
    for (const op of OPS)
      for (const [shape, axes, keepdims] of [...CASES.slice(0, 16), ...CASES.slice(-9, -2)]) {
        const attrs: ReduceAttrs = { axes, keepdims };
        const x = values(shape, 110);
        const want = empty(shape.map((d, i) => (axes.map((a) => (a + shape.length) % shape.length).includes(i) ? 1 : d)));
        reduceKernels[op]([x], [want], { axes, keepdims: true });
        for (const { name, engine } of cases) {
          const heap = residents(engine);
          if (!heap) continue;
          const rx = heap.place(x);
          const out = heap.place({ ...want, data: new Float32Array(want.data.length).fill(NaN) });
          createFastKernels(() => engine)[op]([rx], [out], { ...attrs, keepdims: true });
          expectUlp(out.data, want.data, `${name} ${op} [${shape}] [${axes}]`);
          heap.free();
          ran++;
        }
      }
    expect(ran, 'resident runs').toBe(cases.some((c) => c.name === 'wasm-simd-threads') ? 46 : 0);
  });

  it('reduceLayout views the reduced runs as [lead, outer, k, inner]', () => {
    expect(reduceLayout([4, 32, 256], [-1])).toEqual({ lead: 1, outer: 128, k: 256, inner: 1 });
    expect(reduceLayout([4, 32, 1024], [0, 1])).toEqual({ lead: 1, outer: 1, k: 128, inner: 1024 });
    expect(reduceLayout([2, 3, 1, 4, 5], [1, 3])).toEqual({ lead: 1, outer: 2, k: 12, inner: 5 });
    expect(reduceLayout([6, 5], [])).toEqual({ lead: 1, outer: 30, k: 1, inner: 1 });
    expect(reduceLayout([8, 96, 48, 48], [0, 2, 3])).toEqual({ lead: 8, outer: 96, k: 2304, inner: 1 });
    expect(reduceLayout([3, 4, 5, 2], [0, 2])).toEqual({ lead: 3, outer: 4, k: 5, inner: 2 });
    expect(reduceLayout([3, 4, 5, 2], [1, 3])).toBeNull();
  });

  it('float64 defers to the reference kernel', () => {
    const x = rand([3, 5], 120, 'float64');
    for (const op of OPS) {
      const want = empty([3], 'float64');
      reduceKernels[op]([x], [want], { axes: [1], keepdims: false });
      for (const { name, engine: e } of cases) {
        const { engine, calls } = counting(e);
        const got = empty([3], 'float64');
        createFastKernels(() => engine)[op]([x], [got], { axes: [1], keepdims: false });
        expect(calls.size, `${op} ${name}`).toBe(0);
        expect(got.data, `${op} ${name}`).toEqual(want.data);
      }
    }
  });
});

/** Specials only where there are elements to hold them. */
function hasElements(shape: readonly number[]): boolean {
  return shape.every((d) => d > 0);
}
