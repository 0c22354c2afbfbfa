/**
 * matmul_sgd_update (the SGD step as the weight-gradient GEMM's epilogue: p - lr op(a) op(b)) on
 * every engine against the reference kernel (matmul, then the update): every transpose
 * combination, odd sizes, k spanning several GEMM k blocks (C accumulates the scaled product block
 * by block), an empty inner dimension; into a fresh output and in place on a heap-resident
 * parameter, as the memory plan runs it.
 */
import type { MatmulAttrs } from '@pockengine/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CPU_KERNELS } from '../../src/index.js';
import { createFastKernels } from '../../src/fast/index.js';
import { disposeAll, empty, engines, expectClose, rand, type EngineCase } from './helpers.js';
import { residents } from './resident.js';

const CASES: { m: number; n: number; k: number; transA: boolean; transB: boolean }[] = [
  { m: 1, n: 1, k: 1, transA: false, transB: false },
  { m: 5, n: 7, k: 3, transA: true, transB: false },
  { m: 33, n: 17, k: 45, transA: false, transB: true },
  { m: 7, n: 5, k: 9, transA: true, transB: true },
  { m: 64, n: 96, k: 700, transA: true, transB: false },
  { m: 130, n: 37, k: 300, transA: false, transB: false },
  { m: 3, n: 4, k: 0, transA: true, transB: false },
];

const scalar = (v: number) => ({ dtype: 'float32' as const, shape: [], data: Float32Array.of(v) });

describe('fast matmul_sgd_update matches the reference kernel', () => {
  let cases: EngineCase[] = [];
  beforeAll(async () => {
    cases = await engines();
  });
  afterAll(() => disposeAll(cases));

  for (const c of CASES) {
    const attrs: MatmulAttrs = { transA: c.transA, transB: c.transB };
    it(`[${c.m}x${c.n}] -= lr [${c.m}x${c.k}]${c.transA ? ' (a transposed)' : ''} x [${c.k}x${c.n}]${c.transB ? ' (b transposed)' : ''}`, () => {
      const p = rand([c.m, c.n], 1);
      const a = rand(c.transA ? [c.k, c.m] : [c.m, c.k], 2);
      const b = rand(c.transB ? [c.n, c.k] : [c.k, c.n], 3);
      const inputs = [p, a, b, scalar(0.37), scalar(1)];
      const want = empty([c.m, c.n]);
      CPU_KERNELS.matmul_sgd_update!(inputs, [want], attrs);
      // the product moved the parameter (not a no-op)
      if (c.k > 0) expect(Array.from(want.data).some((v, i) => v !== p.data[i])).toBe(true);
      for (const { name, engine } of cases) {
        const kernels = createFastKernels(() => engine);
        const got = empty([c.m, c.n]);
        got.data.fill(Number.NaN); // every output must be written
        kernels.matmul_sgd_update!(inputs, [got], attrs);
        // |lr * product| <= 0.37 k: the same float32 bound as a matmul of k terms
        expectClose(got.data, want.data, c.k + 1, `${name} fresh output`);
        const heap = residents(engine);
        if (!heap) continue;
        const rp = heap.place(p);
        const ra = heap.place(a);
        const rb = heap.place(b);
        kernels.matmul_sgd_update!([rp, ra, rb, scalar(0.37), scalar(1)], [rp], attrs);
        expectClose(rp.data, want.data, c.k + 1, `${name} in place, heap-resident`);
        heap.free();
      }
    });
  }
});
