/**
 * Conformance of the fast data-movement kernels (slice, slice_grad, concat, split, expand)
 * against the reference kernels: bit-identical outputs (NaN payloads and negative
 * zeros included), every output element written (outputs start as NaN). Layouts: the rotary
 * half-split of [B,H,S,D] on its last axis, slices on leading and middle axes, several axes at
 * once, steps of 2 and -1 (strided and reversed reads), empty slices, rank-5 slices that do not
 * merge to rank 4 (deferred to the reference); concat / split of 1, 3, 5, 17 and 1000+ wide
 * pieces, zero-width pieces; broadcasts of a column, a row, a scalar and middle axes; sizes that
 * leave every SIMD tail and single rows (threads split columns). On every engine, on
 * heap-resident buffers too; int64 defers to the reference kernels.
 */
import type { AttrsOf, SliceAttrs } from '@pockengine/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyLayout, createFastKernels } from '../../src/fast/index.js';
import { shapeOpsKernels } from '../../src/kernels/shape-ops.js';
import type { CpuTensor } from '../../src/tensor.js';
import { expectSameBits, payloads } from './bits.js';
import { counting } from './counting.js';
import { disposeAll, empty, engines, type EngineCase } from './helpers.js';
import { residents, type Residents } from './resident.js';

const END = 9223372036854775807;

type Op = 'slice' | 'slice_grad' | 'concat' | 'split' | 'expand';

/** One op instance: its operand shapes, attrs, and whether the fast kernel handles it. */
interface Case {
  op: Op;
  inputs: number[][];
  outputs: number[][];
  attrs: AttrsOf<Op>;
  fast: boolean;
}

const slice = (shape: number[], out: number[], a: SliceAttrs, fast = true): Case[] => [
  { op: 'slice', inputs: [shape], outputs: [out], attrs: a, fast },
  { op: 'slice_grad', inputs: [out], outputs: [shape], attrs: { ...a, inputShape: shape }, fast },
];
const concat = (pieces: number[][], out: number[], axis: number): Case[] => [
  { op: 'concat', inputs: pieces, outputs: [out], attrs: { axis }, fast: true },
  { op: 'split', inputs: [out], outputs: pieces, attrs: { axis, sizes: pieces.map((p) => p.at(axis)!) }, fast: true },
];
const expand = (from: number[], to: number[]): Case => ({ op: 'expand', inputs: [from], outputs: [to], attrs: { shape: to }, fast: true });

const CASES: Case[] = [
  ...slice([4, 4, 32, 64], [4, 4, 32, 32], { starts: [0], ends: [32], axes: [3], steps: [1] }),
  ...slice([4, 4, 32, 64], [4, 4, 32, 32], { starts: [32], ends: [END], axes: [3], steps: [1] }),
  ...slice([7, 5], [3, 5], { starts: [2], ends: [5], axes: [0], steps: [1] }),
  ...slice([3, 9, 17], [3, 4, 17], { starts: [-6], ends: [-2], axes: [1], steps: [1] }),
  ...slice([3, 9, 17], [2, 4, 5], { starts: [1, 2, 3], ends: [3, 6, 8], axes: [0, 1, 2], steps: [1, 1, 1] }),
  ...slice([5, 1003], [5, 1000], { starts: [3], ends: [END], axes: [1], steps: [1] }),
  ...slice([6, 17], [6, 9], { starts: [0], ends: [END], axes: [1], steps: [2] }),
  ...slice([6, 17], [3, 17], { starts: [-1], ends: [-END], axes: [0], steps: [-2] }),
  ...slice([1, 1037], [1, 1037], { starts: [0], ends: [END], axes: [1], steps: [1] }),
  ...slice([1037], [1], { starts: [5], ends: [6], axes: [0], steps: [1] }),
  ...slice([1037], [346], { starts: [0], ends: [END], axes: [0], steps: [3] }),
  ...slice([4, 6], [4, 0], { starts: [3], ends: [3], axes: [1], steps: [1] }),
  ...slice([3, 4, 5, 6, 7], [2, 3, 4, 5, 6], { starts: [1, 1, 1, 1, 1], ends: [END, END, END, END, END], axes: [0, 1, 2, 3, 4], steps: [1, 1, 1, 1, 1] }, false),
  ...concat([[4, 4, 32, 32], [4, 4, 32, 32]], [4, 4, 32, 64], -1),
  ...concat([[2, 1, 3], [2, 3, 3], [2, 5, 3], [2, 17, 3]], [2, 26, 3], 1),
  ...concat([[3, 1000], [5, 1000]], [8, 1000], 0),
  ...concat([[2, 0, 4], [2, 3, 4]], [2, 3, 4], 1),
  ...concat([[1], [3], [1029]], [1033], 0),
  expand([4, 32, 1], [4, 32, 256]),
  expand([256], [4, 32, 256]),
  expand([], [3, 5]),
  expand([1], [1031]),
  expand([3, 1, 5], [3, 7, 5]),
  expand([2, 1, 3, 1], [2, 4, 3, 17]),
  expand([3, 5], [3, 5]),
];

const label = (c: Case) => `${c.op} [${c.inputs.map((s) => `[${s}]`).join(' ')}] -> [${c.outputs.map((s) => `[${s}]`).join(' ')}] ${JSON.stringify(c.attrs)}`;

function run(c: Case, kernel: (i: CpuTensor[], o: CpuTensor[]) => void, place: (t: CpuTensor) => CpuTensor = (t) => t) {
  const inputs = c.inputs.map((s, i) => place(payloads(s, 200 + i)));
  const outputs = c.outputs.map((s) => place({ ...empty(s), data: new Float32Array(s.reduce((a, b) => a * b, 1)).fill(NaN) }));
  kernel(inputs, outputs);
  return outputs;
}

const reference = (c: Case) => (i: CpuTensor[], o: CpuTensor[]) => (shapeOpsKernels[c.op] as (i: CpuTensor[], o: CpuTensor[], a: unknown) => void)(i, o, c.attrs);
const fastKernel = (c: Case, engine: EngineCase['engine']) => (i: CpuTensor[], o: CpuTensor[]) =>
  (createFastKernels(() => engine)[c.op] as (i: CpuTensor[], o: CpuTensor[], a: unknown) => void)(i, o, c.attrs);

describe('fast data movement is bit-identical to the reference kernels', () => {
  let cases: EngineCase[] = [];
  beforeAll(async () => {
    cases = await engines();
  });
  afterAll(() => disposeAll(cases));

  for (const c of CASES)
    it(label(c), () => {
      const want = run(c, reference(c));
      for (const { name, engine: e } of cases) {
        const { engine, calls } = counting(e);
        const got = run(c, fastKernel(c, engine));
        expect((calls.get('copy') ?? 0) > 0, `${name} used the fast kernel`).toBe(e.vector !== undefined && c.fast);
        got.forEach((g, i) => expectSameBits(g, want[i]!, `${name} output ${i}`));
      }
    });

  it('on heap-resident buffers', () => {
    let ran = 0;
    for (const c of CASES) {
      const want = run(c, reference(c));
      for (const { name, engine: e } of cases) {
        const heap: Residents | null = residents(e);
        if (!heap) continue;
        const { engine, calls } = counting(e);
        const got = run(c, fastKernel(c, engine), (t) => heap.place(t));
        expect((calls.get('copy') ?? 0) > 0, `${name} ${label(c)} used the fast kernel`).toBe(c.fast);
        got.forEach((g, i) => expectSameBits(g, want[i]!, `${name} ${label(c)} output ${i}`));
        heap.free();
        ran++;
      }
    }
    expect(ran, 'resident runs').toBe(cases.some((c) => c.name === 'wasm-simd-threads') ? CASES.length : 0);
  });

  it('copyLayout merges axes contiguous on both sides and drops size-1 axes', () => {
    // the rotary half-split: one [512, 32] row copy reading rows 64 apart
    expect(copyLayout([4, 4, 32, 32], [8192, 2048, 64, 1], [4096, 1024, 32, 1], 32)).toEqual({
      dims: [1, 1, 512, 32], xStrides: [0, 0, 64, 1], yStrides: [0, 0, 32, 1], xOffset: 32, yOffset: 0,
    });
    // a column broadcast along rows: one splat per row
    expect(copyLayout([4, 32, 256], [32, 1, 0], [8192, 256, 1])).toEqual({
      dims: [1, 1, 128, 256], xStrides: [0, 0, 1, 0], yStrides: [0, 0, 256, 1], xOffset: 0, yOffset: 0,
    });
    expect(copyLayout([1, 1, 1], [0, 0, 0], [1, 1, 1])?.dims).toEqual([1, 1, 1, 1]);
    // a slice of every axis of [3, 4, 5, 6, 7]: nothing merges
    expect(copyLayout([2, 3, 4, 5, 6], [840, 210, 42, 7, 1], [360, 120, 30, 6, 1])).toBeNull();
  });

  it('int64 defers to the reference kernels', () => {
    const x: CpuTensor = { dtype: 'int64', shape: [3, 4], data: Float64Array.from({ length: 12 }, (_, i) => i) };
    const attrs = { starts: [1], ends: [3], axes: [1], steps: [1] };
    const want: CpuTensor = { dtype: 'int64', shape: [3, 2], data: new Float64Array(6) };
    shapeOpsKernels.slice([x], [want], attrs);
    for (const { name, engine: e } of cases) {
      const { engine, calls } = counting(e);
      const got: CpuTensor = { dtype: 'int64', shape: [3, 2], data: new Float64Array(6) };
      createFastKernels(() => engine).slice([x], [got], attrs);
      expect(calls.size, name).toBe(0);
      expect(got.data, name).toEqual(want.data);
    }
  });
});
