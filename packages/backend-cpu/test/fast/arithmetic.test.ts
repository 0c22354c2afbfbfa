/**
 * Conformance of the fast add / sub / mul / div kernels against the reference kernels: same
 * shapes (sub / div; add / mul are in elementwise.test.ts) and one operand repeated along middle
 * axes ([B,S,D] op [D], [B,H,S,S] op [B,1,1,S], [B,S,D] op [B,S,1], scalars, either operand
 * first), on every engine, with odd and sub-SIMD inner sizes and size-1 axes. Results must be
 * identical: one float32 operation rounds exactly as the reference's float64-then-float32
 * (division included: 53 >= 2 * 24 + 2 bits). NaN compares equal to NaN (payloads may differ),
 * zeros by sign. In place: the output is the full operand's own (heap-resident) buffer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFastKernels, repeatLayout } from '../../src/fast/index.js';
import { elementwiseKernels } from '../../src/kernels/elementwise.js';
import type { CpuTensor } from '../../src/tensor.js';
import { counting } from './counting.js';
import { disposeAll, empty, engines, rand, type EngineCase } from './helpers.js';
import { residents } from './resident.js';

const OPS = ['add', 'sub', 'mul', 'div'] as const;

/** Values with NaN, infinities and signed zeros mixed in. */
function specials(shape: number[], seed: number): CpuTensor {
  const t = rand(shape, seed);
  const odd = [NaN, Infinity, -Infinity, 0, -0];
  for (let i = 0; i < t.data.length; i += 7) t.data[i] = odd[(i / 7) % odd.length]!;
  return t;
}

/** Identical values (Object.is: zeros by sign, NaN equal to NaN), reporting the first difference. */
function expectSame(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  expect(got.length, what).toBe(want.length);
  let at = 0;
  while (at < want.length && Object.is(got[at], want[at])) at++;
  expect(at < want.length ? `element ${at}: got ${got[at]}, want ${want[at]}` : 'identical', what).toBe('identical');
}

/** [a's shape, b's shape]: out is their broadcast. */
const BROADCASTS: [number[], number[]][] = [
  [[4, 32, 512], [512]],
  [[2, 3, 5], [5]],
  [[5], [3, 5]],
  [[3, 7, 3], [3]],
  [[2, 4, 7, 7], [2, 1, 1, 7]],
  [[2, 1, 1, 33], [2, 3, 5, 33]],
  [[4, 8, 32, 32], [4, 1, 1, 32]],
  [[3, 5, 7], [3, 5, 1]],
  [[3, 1], [3, 37]],
  [[4, 6, 9], [4, 1, 9]],
  [[2, 1, 3, 5], [2, 1, 1, 5]],
  [[1, 40, 1, 19], [19]],
  [[3, 5, 7], []],
  [[], [3, 5, 7]],
  [[6, 20011], [1]],
  [[1], [1, 1, 5]],
];

const shapeOf = (a: readonly number[], b: readonly number[]) => {
  const r = Math.max(a.length, b.length);
  const pa = [...Array(r - a.length).fill(1), ...a];
  const pb = [...Array(r - b.length).fill(1), ...b];
  return pa.map((d, i) => Math.max(d, pb[i]!));
};

describe('fast binary arithmetic matches the reference kernels', () => {
  let cases: EngineCase[] = [];
  beforeAll(async () => {
    cases = await engines();
  });
  afterAll(() => disposeAll(cases));

  for (const op of ['sub', 'div'] as const)
    for (const shape of [[0], [1], [3], [17], [5, 7, 9], [3, 20011]])
      it(`${op} ${shape.join('x')} (same shapes)`, () => {
        const a = specials(shape, 60);
        const b = specials(shape, 61);
        const want = empty(shape);
        elementwiseKernels[op]([a, b], [want], {});
        for (const { name, engine: e } of cases) {
          const { engine, calls } = counting(e);
          const got = empty(shape);
          createFastKernels(() => engine)[op]([a, b], [got], {});
          expect(calls.get('binary') ?? 0, `${name} used the fast kernel`).toBe(e.vector ? 1 : 0);
          expectSame(got.data, want.data, name);
        }
      });

  for (const op of OPS)
    for (const [as, bs] of BROADCASTS)
      it(`${op} [${as}] with [${bs}]`, () => {
        const shape = shapeOf(as, bs);
        const a = specials(as, 62);
        const b = specials(bs, 63);
        const want = empty(shape);
        elementwiseKernels[op]([a, b], [want], {});
        for (const { name, engine: e } of cases) {
          const { engine, calls } = counting(e);
          const got = empty(shape);
          got.data.fill(NaN);
          createFastKernels(() => engine)[op]([a, b], [got], {});
          const fast = (calls.get('broadcast') ?? 0) + (calls.get('binary') ?? 0);
          expect(fast, `${name} used the fast kernel`).toBe(e.vector ? 1 : 0);
          expectSame(got.data, want.data, name);
        }
      });

  for (const op of OPS)
    it(`${op} in place on heap-resident operands`, () => {
      for (const [as, bs] of BROADCASTS) {
        const shape = shapeOf(as, bs);
        const a = specials(as, 64);
        const b = specials(bs, 65);
        const want = empty(shape);
        elementwiseKernels[op]([a, b], [want], {});
        for (const { name, engine } of cases) {
          const heap = residents(engine);
          if (!heap) continue;
          const ra = heap.place(a);
          const rb = heap.place(b);
          // the output is whichever operand has out's shape (both, for same-size pairs)
          const out = ra.data.length === want.data.length ? ra : rb;
          createFastKernels(() => engine)[op]([ra, rb], [out], {});
          expectSame(out.data, want.data, `${name} [${as}] ${op} [${bs}]`);
          heap.free();
        }
      }
    });

  it('other broadcasts and dtypes defer to the reference kernel', () => {
    const variants: [string, CpuTensor, CpuTensor][] = [
      ['both operands broadcast', rand([4, 1], 66), rand([1, 5], 67)],
      ['repeated, kept, repeated', rand([1, 6, 1], 66), rand([5, 6, 7], 67)],
      ['float64', rand([4, 5], 66, 'float64'), rand([5], 67, 'float64')],
    ];
    for (const op of OPS)
      for (const [what, a, b] of variants) {
        const shape = shapeOf(a.shape, b.shape);
        const want = empty(shape, a.dtype);
        elementwiseKernels[op]([a, b], [want], {});
        for (const { name, engine: e } of cases) {
          const { engine, calls } = counting(e);
          const got = empty(shape, a.dtype);
          createFastKernels(() => engine)[op]([a, b], [got], {});
          expect(calls.size, `${name} ${op} ${what}`).toBe(0);
          expectSame(got.data, want.data, `${name} ${op} ${what}`);
        }
      }
  });

  it('repeatLayout finds [outer, rep, inner]', () => {
    expect(repeatLayout([512], [4, 32, 512])).toEqual({ outer: 1, rep: 128, inner: 512 });
    expect(repeatLayout([2, 1, 1, 7], [2, 4, 7, 7])).toEqual({ outer: 2, rep: 28, inner: 7 });
    expect(repeatLayout([3, 5, 1], [3, 5, 7])).toEqual({ outer: 15, rep: 7, inner: 1 });
    expect(repeatLayout([], [3, 5])).toEqual({ outer: 1, rep: 15, inner: 1 });
    expect(repeatLayout([2, 1, 5], [2, 1, 5])).toBeNull();
    expect(repeatLayout([1, 6, 1], [5, 6, 7])).toBeNull();
  });
});
