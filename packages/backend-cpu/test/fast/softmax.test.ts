/**
 * Conformance of the fast sigmoid, softmax (last axis), softmax_cross_entropy and its gradient
 * against the reference kernels (float64, rounded once): every result within one float32 ulp of
 * the reference (|got - want| <= 2^-23 |want|, with a floor of one subnormal step 2^-149), specials
 * exact. The gradient's label entries, (p s rounded) - s, are within one ulp of s plus one of the
 * result (p s is within one ulp; the subtraction then rounds as the reference's). Logits cover
 * small, unit, large and offset values, odd class counts below and above a SIMD block, one row,
 * ignored and all-ignored rows, mean and sum; single-threaded and (forced to split) threaded
 * engines; in place and heap-resident operands.
 */
import { PockError, rng } from '@pockengine/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFastKernels } from '../../src/fast/index.js';
import { activationKernels } from '../../src/kernels/activation.js';
import { lossKernels } from '../../src/kernels/loss.js';
import { reduceKernels } from '../../src/kernels/reduce.js';
import type { CpuTensor } from '../../src/tensor.js';
import { counting } from './counting.js';
import { disposeAll, empty, engines, rand, type EngineCase } from './helpers.js';
import { residents } from './resident.js';

const ULP = 2 ** -23;

/** Error of g against w in float32 ulps of w (specials must match exactly). */
function ulps(g: number, w: number): number {
  if (!Number.isFinite(w) || w === 0) return Object.is(g, w) || (g === 0 && w === 0) ? 0 : Infinity;
  const e = Math.abs(g - w) / Math.max(Math.abs(w) * ULP, 2 ** -149);
  return Number.isNaN(e) ? Infinity : e;
}

function expectUlp(got: ArrayLike<number>, want: ArrayLike<number>, what: string, skip: (i: number) => boolean = () => false): void {
  expect(got.length, what).toBe(want.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < want.length; i++) {
    if (skip(i)) continue;
    const err = ulps(got[i]!, want[i]!);
    if (!(err <= worst)) {
      worst = err;
      at = i;
    }
  }
  expect(worst, `${what}: worst error ${worst} ulp at ${at} (got ${got[at]}, want ${want[at]})`).toBeLessThanOrEqual(1);
}

/** Logits: uniform [-1, 1) times scale plus offset, float32. */
function logits(shape: number[], seed: number, scale: number, offset = 0): CpuTensor {
  const t = rand(shape, seed);
  for (let i = 0; i < t.data.length; i++) t.data[i] = t.data[i]! * scale + offset;
  return t;
}

function labels(shape: number[], classes: number, seed: number, ignore: number | null = null): CpuTensor {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = ignore !== null && r() < 0.25 ? ignore : Math.min(classes - 1, Math.floor(r() * classes));
  return { dtype: 'int64', shape, data };
}

const scalar = (v: number): CpuTensor => ({ dtype: 'float32', shape: [], data: new Float32Array([v]) });

describe('fast sigmoid / softmax / softmax cross-entropy match the reference kernels within one ulp', () => {
  let cases: EngineCase[] = [];
  beforeAll(async () => {
    cases = await engines();
  });
  afterAll(() => disposeAll(cases));

  // ---- sigmoid
  const sweepInput = (n: number): CpuTensor => {
    const odd = [NaN, Infinity, -Infinity, 0, -0, 1e-30, -1e-30, 2 ** -149, 16.6, 17.4, -87.3, -103.3, -103.9, -104.5, -109, -111, 111, 200];
    const data = new Float32Array(n + odd.length);
    for (let i = 0; i < n; i++) data[i] = -120 + (140 * i) / (n - 1);
    data.set(odd, n);
    return { dtype: 'float32', shape: [data.length], data };
  };
  const sigmoidInputs: [string, CpuTensor][] = [
    ['range sweep', sweepInput(200_003)],
    ...[[0], [1], [3], [17], [5, 7, 9], [4, 32, 2048]].map((s) => [`random ${s.join('x')}`, logits(s, 80, 12)] as [string, CpuTensor]),
  ];
  for (const [what, x] of sigmoidInputs)
    it(`sigmoid ${what}`, () => {
      const want = empty(x.shape);
      activationKernels.sigmoid([x], [want], {});
      for (const { name, engine: e } of cases) {
        const { engine, calls } = counting(e);
        const got = empty(x.shape);
        got.data.fill(NaN);
        createFastKernels(() => engine).sigmoid([x], [got], {});
        expect(calls.get('unary') ?? 0, `${name} used the fast kernel`).toBe(e.vector ? 1 : 0);
        expectUlp(got.data, want.data, name);
      }
    });

  it('sigmoid in place on a heap-resident buffer', () => {
    const x = sweepInput(1001);
    const want = empty(x.shape);
    activationKernels.sigmoid([x], [want], {});
    for (const { name, engine } of cases) {
      const heap = residents(engine);
      if (!heap) continue;
      const rx = heap.place(x);
      createFastKernels(() => engine).sigmoid([rx], [rx], {});
      expectUlp(rx.data, want.data, name);
      heap.free();
    }
  });

  it('sigmoid in place on a copied buffer', () => {
    const x = sweepInput(77);
    const want = empty(x.shape);
    activationKernels.sigmoid([x], [want], {});
    for (const { name, engine } of cases) {
      const y = { ...x, data: x.data.slice() };
      createFastKernels(() => engine).sigmoid([y], [y], {});
      expectUlp(y.data, want.data, name);
    }
  });

  // ---- softmax cross-entropy
  type Case = [string, CpuTensor, CpuTensor, number | null];
  const ceCases: Case[] = [
    ['1 x 5 unit', logits([1, 5], 1, 1), labels([1], 5, 2), null],
    ['3 x 7 large', logits([3, 7], 3, 80), labels([3], 7, 4), null],
    ['5 x 33 offset', logits([5, 33], 5, 3, 1000), labels([5], 33, 6), null],
    ['4 x 1 one class', logits([4, 1], 7, 2), labels([4], 1, 8), null],
    ['6 x 3 small', logits([6, 3], 9, 1e-3), labels([6], 3, 10), null],
    ['2 x 3 x 17 ignored', logits([2, 3, 17], 11, 4), labels([2, 3], 17, 12, -100), -100],
    ['7 x 1001 huge spread', logits([7, 1001], 13, 300), labels([7], 1001, 14, 3), 3],
    ['1 x 32000 LM head', logits([1, 32000], 15, 8), labels([1], 32000, 16), null],
    ['16 x 32000 LM head', logits([16, 32000], 17, 6), labels([16], 32000, 18, -1), -1],
    ['33 x 130 tiny values', logits([33, 130], 19, 1e-30), labels([33], 130, 20), null],
  ];
  for (const [what, x, l, ignoreIndex] of ceCases)
    for (const reduction of ['mean', 'sum'] as const) {
      const attrs = { reduction, ignoreIndex };
      it(`softmax_cross_entropy ${what} ${reduction}`, () => {
        const want = empty([]);
        lossKernels.softmax_cross_entropy([x, l], [want], attrs);
        for (const { name, engine: e } of cases) {
          const { engine, calls } = counting(e);
          const got = empty([]);
          got.data.fill(NaN);
          createFastKernels(() => engine).softmax_cross_entropy([x, l], [got], attrs);
          expect(calls.get('rowStats') ?? 0, `${name} used the fast kernel`).toBe(e.vector ? 1 : 0);
          expectUlp(got.data, want.data, name);
        }
      });

      it(`softmax_cross_entropy_grad ${what} ${reduction}`, () => {
        for (const dl of [1, -0.7]) {
          const dloss = scalar(dl);
          const want = empty(x.shape);
          lossKernels.softmax_cross_entropy_grad([x, l, dloss], [want], attrs);
          const count = Array.from(l.data).filter((v) => v !== ignoreIndex).length;
          const s = reduction === 'mean' ? dl / count : dl;
          const classes = x.shape.at(-1)!;
          const isLabel = (i: number) => l.data[Math.floor(i / classes)] === i % classes;
          for (const { name, engine: e } of cases) {
            const { engine, calls } = counting(e);
            const got = empty(x.shape);
            got.data.fill(NaN);
            createFastKernels(() => engine).softmax_cross_entropy_grad([x, l, dloss], [got], attrs);
            expect(calls.get('rowSoftmax') ?? 0, `${name} used the fast kernel`).toBe(e.vector ? 1 : 0);
            expectUlp(got.data, want.data, `${name} dloss ${dl}`, isLabel);
            for (let i = 0; i < want.data.length; i++)
              if (isLabel(i)) {
                const err = Math.abs(got.data[i]! - want.data[i]!);
                expect(err, `${name} label entry ${i} (got ${got.data[i]}, want ${want.data[i]})`).toBeLessThanOrEqual(ULP * (Math.abs(s) + Math.abs(want.data[i]!)));
              }
          }
        }
      });
    }

  it('softmax cross-entropy specials: NaN / Infinity / -Infinity logits, all ignored', () => {
    const x = logits([6, 9], 30, 3);
    x.data[2] = NaN;
    x.data[9 + 4] = Infinity;
    x.data[18 + 1] = -Infinity;
    for (let c = 0; c < 9; c++) x.data[27 + c] = -Infinity;
    x.data[36] = -Infinity;
    const l = labels([6], 9, 31);
    l.data[2] = 1; // the -Infinity entry of row 2
    for (const attrs of [{ reduction: 'mean' as const, ignoreIndex: null }, { reduction: 'sum' as const, ignoreIndex: 5 }]) {
      const want = empty([]);
      const wantGrad = empty([6, 9]);
      lossKernels.softmax_cross_entropy([x, l], [want], attrs);
      lossKernels.softmax_cross_entropy_grad([x, l, scalar(1)], [wantGrad], attrs);
      for (const { name, engine } of cases) {
        const got = empty([]);
        const gotGrad = empty([6, 9]);
        const k = createFastKernels(() => engine);
        k.softmax_cross_entropy([x, l], [got], attrs);
        k.softmax_cross_entropy_grad([x, l, scalar(1)], [gotGrad], attrs);
        expectUlp(got.data, want.data, name);
        expectUlp(gotGrad.data, wantGrad.data, name);
      }
    }
    // every row ignored: the loss is 0 / 0 = NaN (mean) and the gradient 0
    const all: CpuTensor = { dtype: 'int64', shape: [3], data: new Float64Array([-100, -100, -100]) };
    const x3 = logits([3, 5], 32, 2);
    for (const { name, engine } of cases) {
      const k = createFastKernels(() => engine);
      const got = empty([]);
      k.softmax_cross_entropy([x3, all], [got], { reduction: 'mean', ignoreIndex: -100 });
      expect(got.data[0], name).toBeNaN();
      const g = empty([3, 5]);
      g.data.fill(NaN);
      k.softmax_cross_entropy_grad([x3, all, scalar(1)], [g], { reduction: 'mean', ignoreIndex: -100 });
      expect(Array.from(g.data), name).toEqual(new Array(15).fill(0));
    }
  });

  it('softmax cross-entropy on heap-resident logits and gradient', () => {
    const x = logits([9, 517], 40, 10);
    const l = labels([9], 517, 41, -100);
    const attrs = { reduction: 'mean' as const, ignoreIndex: -100 };
    const want = empty([]);
    const wantGrad = empty(x.shape);
    lossKernels.softmax_cross_entropy([x, l], [want], attrs);
    lossKernels.softmax_cross_entropy_grad([x, l, scalar(2)], [wantGrad], attrs);
    for (const { name, engine } of cases) {
      const heap = residents(engine);
      if (!heap) continue;
      const rx = heap.place(x);
      const rg = heap.place(empty(x.shape));
      const got = empty([]);
      const k = createFastKernels(() => engine);
      k.softmax_cross_entropy([rx, l], [got], attrs);
      k.softmax_cross_entropy_grad([rx, l, scalar(2)], [rg], attrs);
      expectUlp(got.data, want.data, name);
      const classes = 517;
      expectUlp(rg.data, wantGrad.data, name, (i) => l.data[Math.floor(i / classes)] === i % classes);
      heap.free();
    }
  });

  it('softmax cross-entropy with an invalid label throws as the reference kernel', () => {
    const x = logits([2, 4], 50, 1);
    const bad: CpuTensor = { dtype: 'int64', shape: [2], data: new Float64Array([1, 4]) };
    for (const { name, engine } of cases) {
      const k = createFastKernels(() => engine);
      expect(() => k.softmax_cross_entropy([x, bad], [empty([])], { reduction: 'mean', ignoreIndex: null }), name).toThrow(PockError);
      expect(() => k.softmax_cross_entropy_grad([x, bad, scalar(1)], [empty([2, 4])], { reduction: 'mean', ignoreIndex: null }), name).toThrow(PockError);
    }
  });

  it('float64 logits defer to the reference kernels', () => {
    const x = rand([3, 5], 60, 'float64');
    const l = labels([3], 5, 61);
    const attrs = { reduction: 'mean' as const, ignoreIndex: null };
    const want = empty([], 'float64');
    lossKernels.softmax_cross_entropy([x, l], [want], attrs);
    for (const { name, engine: e } of cases) {
      const { engine, calls } = counting(e);
      const got = empty([], 'float64');
      createFastKernels(() => engine).softmax_cross_entropy([x, l], [got], attrs);
      const y = empty([3, 5], 'float64');
      createFastKernels(() => engine).sigmoid([x], [y], {});
      expect(calls.size, name).toBe(0);
      expect(got.data, name).toEqual(want.data);
    }
  });

  // ---- softmax over the last axis
  const softmaxCases: [string, CpuTensor][] = [
    ['1 x 5', logits([1, 5], 70, 1)],
    ['3 x 7 large', logits([3, 7], 71, 60)],
    ['2 x 3 x 33 offset', logits([2, 3, 33], 72, 5, -2000)],
    ['4 x 1', logits([4, 1], 73, 3)],
    ['5 x 4099', logits([5, 4099], 74, 20)],
    ['17', logits([17], 75, 9)],
  ];
  for (const [what, x] of softmaxCases)
    it(`softmax ${what}`, () => {
      const axis = x.shape.length - 1;
      const want = empty(x.shape);
      reduceKernels.softmax([x], [want], { axis });
      for (const { name, engine: e } of cases) {
        const { engine, calls } = counting(e);
        for (const a of [axis, -1]) {
          const got = empty(x.shape);
          got.data.fill(NaN);
          createFastKernels(() => engine).softmax([x], [got], { axis: a });
          expectUlp(got.data, want.data, `${name} axis ${a}`);
        }
        expect(calls.get('rowSoftmax') ?? 0, `${name} used the fast kernel`).toBe(e.vector ? 2 : 0);
      }
    });

  it('softmax over another axis is the reference kernel', () => {
    const x = logits([3, 4, 5], 76, 2);
    const want = empty(x.shape);
    reduceKernels.softmax([x], [want], { axis: 1 });
    for (const { name, engine: e } of cases) {
      const { engine, calls } = counting(e);
      const got = empty(x.shape);
      createFastKernels(() => engine).softmax([x], [got], { axis: 1 });
      expect(calls.size, name).toBe(0);
      expect(got.data, name).toEqual(want.data);
    }
  });
});
