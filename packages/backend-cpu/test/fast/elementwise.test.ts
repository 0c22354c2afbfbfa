/**
 * Conformance of the fast where (also with trailing-block and scalar broadcasts), in_range, add / mul and sgd_update kernels against the
 * reference kernels on every engine (the threaded one splits any problem into 16-aligned element
 * ranges). Lengths cover empty, below one SIMD block, odd tails and multi-block ranges. where,
 * in_range and add / mul must agree bit for bit (they only move bits, compare, or round one
 * float32 operation exactly as float64-then-float32 does); sgd_update is float32 arithmetic.
 */
import type { AttrsOf, SgdAttrs } from '@pockengine/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFastKernels } from '../../src/fast/index.js';
import { elementwiseKernels } from '../../src/kernels/elementwise.js';
import { optimKernels } from '../../src/kernels/optim.js';
import type { CpuTensor } from '../../src/tensor.js';
import { counting } from './counting.js';
import { disposeAll, empty, engines, expectClose, rand, type EngineCase } from './helpers.js';

const SHAPES: number[][] = [[0], [1], [3], [17], [5, 7, 9], [33, 65], [8, 32, 12, 12], [3, 20011]];

/** Values with the special cases mixed in: NaN, infinities, signed zeros. */
function specials(shape: number[], seed: number): CpuTensor {
  const t = rand(shape, seed);
  const odd = [NaN, Infinity, -Infinity, 0, -0];
  for (let i = 0; i < t.data.length; i += 7) t.data[i] = odd[(i / 7) % odd.length]!;
  return t;
}

function mask(shape: number[], seed: number): CpuTensor {
  const r = rand(shape, seed);
  return { dtype: 'bool', shape, data: Uint8Array.from(r.data, (v) => (v > 0 ? 1 : 0)) };
}

/** The elements of a float32 tensor as their bit patterns (NaN payloads and signed zeros included). */
const bits = (t: CpuTensor) => new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length);

/** Elementwise identity, reporting the first difference (toEqual on long typed arrays is slow). */
function expectSame(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  expect(got.length, what).toBe(want.length);
  let at = 0;
  while (at < want.length && got[at] === want[at]) at++;
  expect(at < want.length ? `element ${at}: got ${got[at]}, want ${want[at]}` : 'identical', what).toBe('identical');
}

describe('fast elementwise kernels match the reference kernels', () => {
  let cases: EngineCase[] = [];
  beforeAll(async () => {
    cases = await engines();
  });
  afterAll(() => disposeAll(cases));

  for (const shape of SHAPES)
    for (const scalarB of [false, true])
      it(`where ${shape.join('x')}${scalarB ? ' with a scalar b' : ''}`, () => {
        const cond = mask(shape, 41);
        const a = specials(shape, 42);
        const b = scalarB ? { dtype: 'float32' as const, shape: [], data: new Float32Array([-0]) } : specials(shape, 43);
        const want = empty(shape);
        elementwiseKernels.where([cond, a, b], [want]);
        for (const { name, engine: e } of cases) {
          const { engine, calls } = counting(e);
          const got = empty(shape);
          createFastKernels(() => engine).where([cond, a, b], [got], {});
          expect(calls.get('select') ?? 0, `${name} used the fast kernel`).toBe(e.vector ? 1 : 0);
          expectSame(bits(got), bits(want), name);
        }
      });

  /** Trailing blocks repeated over leading axes (an attention mask over [B, H, T, T], a masked fill with a scalar) run fast. */
  const scalar = (v: number): CpuTensor => ({ dtype: 'float32', shape: [], data: new Float32Array([v]) });
  const BLOCKS: [string, number[], () => CpuTensor[]][] = [
    ['causal mask [1,1,8,8] over [2,3,8,8], masked fill with -inf', [2, 3, 8, 8], () => [mask([1, 1, 8, 8], 51), scalar(-Infinity), specials([2, 3, 8, 8], 52)]],
    ['mask [5] over [4,5], scalar a and b', [4, 5], () => [mask([5], 53), scalar(2), scalar(-0)]],
    ['a [1,8] over [4,8]', [4, 8], () => [mask([4, 8], 54), specials([1, 8], 55), specials([4, 8], 56)]],
    ['b [3,4] over [2,3,4] with a full condition', [2, 3, 4], () => [mask([2, 3, 4], 57), specials([2, 3, 4], 58), specials([3, 4], 59)]],
    ['mask and a [7,9] over [3,7,9] (odd block)', [3, 7, 9], () => [mask([7, 9], 60), specials([1, 7, 9], 61), specials([3, 7, 9], 62)]],
    ['a full condition over an odd block [7] of [3,7]', [3, 7], () => [mask([3, 7], 63), specials([7], 64), specials([3, 7], 65)]],
    ['a key mask [33] over [4,5,33] (many short repetitions, split across threads)', [4, 5, 33], () => [mask([33], 66), scalar(-Infinity), specials([4, 5, 33], 67)]],
  ];
  for (const [what, shape, inputs] of BLOCKS)
    it(`where with ${what}`, () => {
      const ins = inputs();
      const want = empty(shape);
      elementwiseKernels.where(ins, [want]);
      for (const { name, engine: e } of cases) {
        const { engine, calls } = counting(e);
        const got = empty(shape);
        createFastKernels(() => engine).where(ins, [got], {});
        expect(calls.get('select') ?? 0, `${name} used the fast kernel (one select for every repetition)`).toBe(e.vector ? 1 : 0);
        expectSame(bits(got), bits(want), name);
      }
    });

  it('where with other broadcasts and dtypes defers to the reference kernel', () => {
    const variants: [string, number[], CpuTensor[]][] = [
      ['column-broadcast condition', [4, 5], [mask([4, 1], 44), rand([4, 5], 45), rand([4, 5], 46)]],
      ['blocks of two sizes', [3, 4, 5], [mask([4, 5], 44), rand([5], 45), rand([3, 4, 5], 46)]],
      ['float64 values', [4, 5], [mask([4, 5], 44), rand([4, 5], 45, 'float64'), rand([4, 5], 46, 'float64')]],
    ];
    for (const [what, shape, inputs] of variants) {
      const dtype = inputs[1]!.dtype;
      const want = empty(shape, dtype);
      elementwiseKernels.where(inputs, [want]);
      for (const { name, engine: e } of cases) {
        const { engine, calls } = counting(e);
        const got = empty(shape, dtype);
        createFastKernels(() => engine).where(inputs, [got], {});
        expect(calls.size, `${name} ${what}`).toBe(0);
        expect(got.data, `${name} ${what}`).toEqual(want.data);
      }
    }
  });

  /** Every nullable / strict combination; 0.1 and -2.5e-39 are not float32 values (rounding of the bounds matters). */
  const RANGES: AttrsOf<'in_range'>[] = [];
  for (const [min, max] of [[0, 6], [null, 0], [0, null], [null, null], [-0.25, 0.1], [-2.5e-39, 1e39], [NaN, 1]] as const)
    for (const strictMin of [false, true])
      for (const strictMax of [false, true, undefined]) RANGES.push({ min, max, strictMin, ...(strictMax === undefined ? {} : { strictMax }) });

  for (const shape of SHAPES)
    it(`in_range ${shape.join('x')}, ${RANGES.length} bound combinations`, () => {
      // values on and next to the bounds: scaled to [-8, 8) and snapped to a grid of 1/8, plus the specials
      const x = specials(shape, 47);
      x.data.forEach((v, i) => (x.data[i] = i % 7 === 0 ? v : Math.round(64 * v) / 8));
      const near = [Math.fround(0.1), Math.fround(-0.25), -(2 ** -149), 3.4e38, -0, 6];
      for (let i = 3; i < x.data.length; i += 11) x.data[i] = near[(i - 3) / 11 % near.length]!;
      for (const attrs of RANGES) {
        const want = empty(shape, 'bool');
        elementwiseKernels.in_range([x], [want], attrs);
        for (const { name, engine: e } of cases) {
          const { engine, calls } = counting(e);
          const got = empty(shape, 'bool');
          got.data.fill(7);
          createFastKernels(() => engine).in_range([x], [got], attrs);
          expect(calls.get('inRange') ?? 0, `${name} used the fast kernel`).toBe(e.vector ? 1 : 0);
          expectSame(got.data, want.data, `${name} ${JSON.stringify(attrs)}`);
        }
      }
    });

  for (const op of ['add', 'mul'] as const)
    for (const shape of SHAPES)
      it(`${op} ${shape.join('x')}`, () => {
        const a = rand(shape, 48);
        const b = rand(shape, 49);
        const want = empty(shape);
        elementwiseKernels[op]([a, b], [want], {});
        for (const { name, engine: e } of cases) {
          const { engine, calls } = counting(e);
          const got = empty(shape);
          createFastKernels(() => engine)[op]([a, b], [got], {});
          expect(calls.get('binary') ?? 0, `${name} used the fast kernel`).toBe(e.vector ? 1 : 0);
          expectSame(bits(got), bits(want), name);
        }
      });

  it('add with both operands broadcast defers to the reference kernel', () => {
    // one operand repeated along middle axes is fast: arithmetic.test.ts
    const a = rand([4, 1], 50);
    const b = rand([1, 5], 51);
    const want = empty([4, 5]);
    elementwiseKernels.add([a, b], [want], {});
    for (const { name, engine: e } of cases) {
      const { engine, calls } = counting(e);
      const got = empty([4, 5]);
      createFastKernels(() => engine).add([a, b], [got], {});
      expect(calls.size, name).toBe(0);
      expect(got.data, name).toEqual(want.data);
    }
  });
});

describe('fast sgd_update matches the reference kernel', () => {
  let cases: EngineCase[] = [];
  beforeAll(async () => {
    cases = await engines();
  });
  afterAll(() => disposeAll(cases));

  const scalar = (v: number): CpuTensor => ({ dtype: 'float32', shape: [], data: new Float32Array([v]) });
  const OPTIONS: { momentum: number; dampening: number; nesterov: boolean; weightDecay: number }[] = [
    { momentum: 0, dampening: 0, nesterov: false, weightDecay: 0 },
    { momentum: 0, dampening: 0, nesterov: false, weightDecay: 1e-2 },
    { momentum: 0.9, dampening: 0, nesterov: false, weightDecay: 0 },
    { momentum: 0.9, dampening: 0.1, nesterov: false, weightDecay: 5e-3 },
    { momentum: 0.8, dampening: 0, nesterov: true, weightDecay: 0 },
    { momentum: 0.8, dampening: 0, nesterov: true, weightDecay: 1e-2 },
  ];
  /** Parameter shape and the selected rows of dim 0 (null: full update). */
  const LAYOUTS: [number[], number[] | null][] = [
    [[1], null],
    [[7, 3], null],
    [[32, 3, 3, 3], null],
    [[3, 20011], null],
    [[9, 5], [0, 1, 2, 5, 7, 8]],
    [[40, 17], [3, 4, 5, 6, 20, 39]],
  ];

  for (const [shape, rows] of LAYOUTS)
    for (const o of OPTIONS)
      for (const step of [1, 4])
        it(`${shape.join('x')}${rows ? ` rows ${rows.join(',')}` : ''} ${JSON.stringify(o)} step ${step}`, () => {
          const attrs: SgdAttrs = { ...o, rows };
          const gShape = rows ? [rows.length, ...shape.slice(1)] : shape;
          const p = rand(shape, 52);
          const g = rand(gShape, 53);
          const vel = rand(gShape, 54);
          const inputs = [p, g, scalar(0.05), scalar(step), ...(o.momentum ? [vel] : [])];
          const outputs = () => [empty(shape), ...(o.momentum ? [empty(gShape)] : [])];
          const want = outputs();
          optimKernels.sgd_update(inputs, want, attrs);
          for (const { name, engine: e } of cases) {
            const { engine, calls } = counting(e);
            const got = outputs();
            createFastKernels(() => engine).sgd_update(inputs, got, attrs);
            expect((calls.get('sgd') ?? 0) > 0, `${name} used the fast kernel`).toBe(e.vector !== undefined);
            expectClose(got[0]!.data, want[0]!.data, 4, `${name} param`);
            if (o.momentum) expectClose(got[1]!.data, want[1]!.data, 4, `${name} velocity`);
          }
        });

  it('updates in place when the outputs are the inputs', () => {
    const attrs: SgdAttrs = { momentum: 0.9, dampening: 0, nesterov: false, weightDecay: 1e-3, rows: [1, 2] };
    const p = rand([4, 6], 55);
    const g = rand([2, 6], 56);
    const vel = rand([2, 6], 57);
    const want = [empty([4, 6]), empty([2, 6])];
    optimKernels.sgd_update([p, g, scalar(0.1), scalar(2), vel], want, attrs);
    for (const { name, engine } of cases) {
      const pc = { ...p, data: p.data.slice() };
      const vc = { ...vel, data: vel.data.slice() };
      createFastKernels(() => engine).sgd_update([pc, g, scalar(0.1), scalar(2), vc], [pc, vc], attrs);
      expectClose(pc.data, want[0]!.data, 4, `${name} param`);
      expectClose(vc.data, want[1]!.data, 4, `${name} velocity`);
    }
  });
});
