/**
 * Conformance of the fast neg, abs, sqrt, rsqrt and reciprocal kernels against the reference
 * kernels: identical results (Object.is: zeros by sign; NaN equal to NaN, payloads may differ),
 * since each is the reference's float64 value rounded once (see wasm-unary.ts). Inputs span the
 * whole float32 range (subnormals, values whose reciprocal is subnormal or overflows, negatives
 * for the roots) plus the specials, at sizes that leave every tail width (0, 1, 3, 5, 17, 1001
 * elements, [4,4,32,32]); in place on heap-resident buffers; float64 defers to the reference.
 */
import { rng } from '@pockengine/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFastKernels } from '../../src/fast/index.js';
import { elementwiseKernels } from '../../src/kernels/elementwise.js';
import type { CpuTensor } from '../../src/tensor.js';
import { expectSame } from './bits.js';
import { counting } from './counting.js';
import { disposeAll, empty, engines, rand, type EngineCase } from './helpers.js';
import { residents } from './resident.js';

const OPS = ['neg', 'abs', 'sqrt', 'rsqrt', 'reciprocal'] as const;
const SPECIALS = [NaN, -NaN, Infinity, -Infinity, 0, -0, 1, -1, 2 ** -149, -(2 ** -149), 2 ** -126, 3.4028234663852886e38, 2.9e38, 1e-39, 4];

/** Signed values with exponents across the float32 range (2^-149 .. 2^127), the specials first. */
function wide(n: number, seed: number): CpuTensor {
  const r = rng(seed);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = i < SPECIALS.length ? SPECIALS[i]! : (r() < 0.5 ? -1 : 1) * (1 + r()) * 2 ** Math.floor(-149 + 277 * r());
  return { dtype: 'float32', shape: [n], data };
}

describe('fast neg / abs / sqrt / rsqrt / reciprocal are identical to the reference kernels', () => {
  let cases: EngineCase[] = [];
  beforeAll(async () => {
    cases = await engines();
  });
  afterAll(() => disposeAll(cases));

  const inputs: [string, CpuTensor][] = [
    ['wide range', wide(20_011, 90)],
    ...[[0], [1], [3], [5], [17], [1001], [4, 4, 32, 32]].map((s) => [`random ${s.join('x')}`, rand(s, 91)] as [string, CpuTensor]),
  ];
  for (const op of OPS)
    for (const [what, x] of inputs)
      it(`${op} ${what}`, () => {
        const want = empty(x.shape);
        elementwiseKernels[op]([x], [want], {});
        for (const { name, engine: e } of cases) {
          const { engine, calls } = counting(e);
          const got = empty(x.shape);
          got.data.fill(NaN);
          createFastKernels(() => engine)[op]([x], [got], {});
          expect(calls.get('unary') ?? 0, `${name} used the fast kernel`).toBe(e.vector ? 1 : 0);
          expectSame(got.data, want.data, name);
        }
      });

  for (const op of OPS)
    it(`${op} in place on a heap-resident buffer`, () => {
      const x = wide(1003, 92);
      const want = empty(x.shape);
      elementwiseKernels[op]([x], [want], {});
      let ran = 0;
      for (const { name, engine } of cases) {
        const heap = residents(engine);
        if (!heap) continue;
        const rx = heap.place(x);
        createFastKernels(() => engine)[op]([rx], [rx], {});
        expectSame(rx.data, want.data, name);
        heap.free();
        ran++;
      }
      expect(ran, 'engines with a shared heap').toBe(cases.filter((c) => c.name === 'wasm-simd-threads').length);
    });

  it('float64 defers to the reference kernel', () => {
    const x = rand([3, 5], 93, 'float64');
    for (const op of OPS) {
      const want = empty([3, 5], 'float64');
      elementwiseKernels[op]([x], [want], {});
      for (const { name, engine: e } of cases) {
        const { engine, calls } = counting(e);
        const got = empty([3, 5], 'float64');
        createFastKernels(() => engine)[op]([x], [got], {});
        expect(calls.size, `${op} ${name}`).toBe(0);
        expect(got.data, `${op} ${name}`).toEqual(want.data);
      }
    }
  });
});
