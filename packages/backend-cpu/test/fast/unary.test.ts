/**
 * Conformance of the fast exp, erf and tanh kernels against the reference kernels (float64, rounded
 * once): every result within one float32 ulp of the reference, i.e. |got - want| <= 2^-23 |want|
 * (relative 1.19e-7), with an absolute floor of one subnormal step 2^-149 for exp's subnormal
 * results; specials exact (NaN, +-Infinity, zeros, exp's overflow to Infinity and underflow to 0).
 * Inputs sweep the whole range where the functions vary (exp: [-104, 89], erf: [-4.5, 4.5],
 * tanh: [-10, 10], through the switch between its series and exp forms at |x| = 1/8)
 * plus random values; sizes cover tails below one SIMD block; in place on resident buffers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFastKernels } from '../../src/fast/index.js';
import { CPU_KERNELS } from '../../src/kernels/index.js';
import type { CpuTensor } from '../../src/tensor.js';
import { counting } from './counting.js';
import { disposeAll, empty, engines, rand, type EngineCase } from './helpers.js';
import { residents } from './resident.js';

const ULP = 2 ** -23;

/** Worst error in float32 ulps of want (subnormal steps below the normal range); specials must match exactly. */
function expectUlp(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  expect(got.length, what).toBe(want.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    const err = !Number.isFinite(w) || w === 0 ? (Object.is(g, w) || (g === 0 && w === 0) ? 0 : Infinity) : Math.abs(g - w) / Math.max(Math.abs(w) * ULP, 2 ** -149);
    if (!(err <= worst)) {
      worst = Number.isNaN(err) ? Infinity : err;
      at = i;
    }
  }
  expect(worst, `${what}: worst error ${worst} ulp at ${at} (got ${got[at]}, want ${want[at]})`).toBeLessThanOrEqual(1);
}

/** n values evenly over [lo, hi], then the specials. */
function sweep(lo: number, hi: number, n: number): CpuTensor {
  const odd = [NaN, Infinity, -Infinity, 0, -0, 1e-30, -1e-30, 2 ** -149, 88.72, 88.73, -87.3, -103.9, -104.5, 3.83, -3.84, 0.125, -0.125, 0.12499999, 1e-5, -3e-4, 9.01, -9.02, 20, -25];
  const data = new Float32Array(n + odd.length);
  for (let i = 0; i < n; i++) data[i] = lo + ((hi - lo) * i) / (n - 1);
  data.set(odd, n);
  return { dtype: 'float32', shape: [data.length], data };
}

const RANGES = { exp: [-104, 89], erf: [-4.5, 4.5], tanh: [-10, 10] } as const;

describe('fast exp / erf / tanh match the reference kernels within one ulp', () => {
  let cases: EngineCase[] = [];
  beforeAll(async () => {
    cases = await engines();
  });
  afterAll(() => disposeAll(cases));

  for (const op of ['exp', 'erf', 'tanh'] as const) {
    const inputs: [string, CpuTensor][] = [
      ['range sweep', sweep(RANGES[op][0], RANGES[op][1], 200_003)],
      ...[[0], [1], [3], [17], [5, 7, 9], [4, 32, 2048]].map((s) => [`random ${s.join('x')}`, rand(s, 70)] as [string, CpuTensor]),
    ];
    for (const [what, x] of inputs)
      it(`${op} ${what}`, () => {
        const want = empty(x.shape);
        CPU_KERNELS[op]([x], [want], {});
        for (const { name, engine: e } of cases) {
          const { engine, calls } = counting(e);
          const got = empty(x.shape);
          got.data.fill(NaN);
          createFastKernels(() => engine)[op]([x], [got], {});
          expect(calls.get('unary') ?? 0, `${name} used the fast kernel`).toBe(e.vector ? 1 : 0);
          expectUlp(got.data, want.data, name);
        }
      });

    it(`${op} in place on a heap-resident buffer`, () => {
      const x = sweep(RANGES[op][0], RANGES[op][1], 1001);
      const want = empty(x.shape);
      CPU_KERNELS[op]([x], [want], {});
      for (const { name, engine } of cases) {
        const heap = residents(engine);
        if (!heap) continue;
        const rx = heap.place(x);
        createFastKernels(() => engine)[op]([rx], [rx], {});
        expectUlp(rx.data, want.data, name);
        heap.free();
      }
    });

    it(`${op} on float64 defers to the reference kernel`, () => {
      const x = rand([3, 5], 71, 'float64');
      const want = empty([3, 5], 'float64');
      CPU_KERNELS[op]([x], [want], {});
      for (const { name, engine: e } of cases) {
        const { engine, calls } = counting(e);
        const got = empty([3, 5], 'float64');
        createFastKernels(() => engine)[op]([x], [got], {});
        expect(calls.size, name).toBe(0);
        expect(got.data, name).toEqual(want.data);
      }
    });
  }
});
