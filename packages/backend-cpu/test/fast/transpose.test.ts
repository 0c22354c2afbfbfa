/**
 * Conformance of the fast transpose against the reference kernel: bit-identical output (NaN
 * payloads and signed zeros included) for the attention head split and merge, K^T, 2D transposes
 * with edges that are not multiples of the 4 x 4 tile, size-1 axes, plain copies, a strided
 * gather, every permutation of a small rank-4 tensor, and rank-5 permutations (merged down to
 * rank 4 or deferred to the reference kernel); on resident buffers too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFastKernels, transposeLayout } from '../../src/fast/index.js';
import { shapeOpsKernels } from '../../src/kernels/shape-ops.js';
import type { CpuTensor } from '../../src/tensor.js';
import { counting } from './counting.js';
import { disposeAll, empty, engines, rand, type EngineCase } from './helpers.js';
import { residents } from './resident.js';

const bits = (t: CpuTensor) => new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length);

/** Random values with NaNs of distinct payloads and negative zeros. */
function payloads(shape: number[], seed: number): CpuTensor {
  const t = rand(shape, seed);
  const u = bits(t);
  for (let i = 0; i < u.length; i += 5) u[i] = i % 10 === 0 ? 0x7fc00000 + (i & 0xffff) : 0x80000000;
  return t;
}

function expectSameBits(got: CpuTensor, want: CpuTensor, what: string): void {
  const g = bits(got);
  const w = bits(want);
  expect(g.length, what).toBe(w.length);
  let at = 0;
  while (at < w.length && g[at] === w[at]) at++;
  expect(at < w.length ? `element ${at}: got 0x${g[at]!.toString(16)}, want 0x${w[at]!.toString(16)}` : 'identical', what).toBe('identical');
}

const permuted = (shape: number[], perm: number[]) => perm.map((p) => shape[p]!);

function permutations(n: number): number[][] {
  if (n === 1) return [[0]];
  return permutations(n - 1).flatMap((p) => Array.from({ length: n }, (_, k) => [...p.slice(0, k), n - 1, ...p.slice(k)]));
}

const CASES: [number[], number[]][] = [
  [[4, 32, 8, 64], [0, 2, 1, 3]],
  [[4, 8, 32, 64], [0, 2, 1, 3]],
  [[4, 8, 32, 64], [0, 1, 3, 2]],
  [[2, 3, 13, 7], [0, 1, 3, 2]],
  [[37, 5], [1, 0]],
  [[8, 12], [1, 0]],
  [[1, 9, 1, 6], [3, 1, 0, 2]],
  [[6, 7], [0, 1]],
  [[0, 4], [1, 0]],
  [[5, 6, 7], [2, 0, 1]],
  [[5, 6, 7], [1, 2, 0]],
  [[3, 4, 5, 6, 7], [4, 3, 2, 1, 0]],
  [[3, 4, 5, 6, 7], [0, 1, 3, 4, 2]],
  ...permutations(4).map((p): [number[], number[]] => [[3, 5, 6, 9], p]),
];

describe('fast transpose matches the reference kernel', () => {
  let cases: EngineCase[] = [];
  beforeAll(async () => {
    cases = await engines();
  });
  afterAll(() => disposeAll(cases));

  for (const [shape, perm] of CASES)
    it(`[${shape}] perm [${perm}]`, () => {
      const x = payloads(shape, 80);
      const want = empty(permuted(shape, perm));
      shapeOpsKernels.transpose([x], [want], { perm });
      const fast = transposeLayout(shape, perm) !== null;
      for (const { name, engine: e } of cases) {
        const { engine, calls } = counting(e);
        const got = empty(want.shape);
        got.data.fill(NaN);
        createFastKernels(() => engine).transpose([x], [got], { perm });
        expect(calls.get('transpose') ?? 0, `${name} used the fast kernel`).toBe(e.vector && fast ? 1 : 0);
        expectSameBits(got, want, name);
      }
    });

  it('on heap-resident buffers', () => {
    for (const [shape, perm] of CASES.slice(0, 8)) {
      const x = payloads(shape, 81);
      const want = empty(permuted(shape, perm));
      shapeOpsKernels.transpose([x], [want], { perm });
      for (const { name, engine } of cases) {
        const heap = residents(engine);
        if (!heap) continue;
        const rx = heap.place(x);
        const out = heap.place(empty(want.shape));
        createFastKernels(() => engine).transpose([rx], [out], { perm });
        expectSameBits(out, want, `${name} [${shape}] [${perm}]`);
        heap.free();
      }
    }
  });

  it('transposeLayout merges contiguous axes and drops size-1 axes', () => {
    expect(transposeLayout([4, 32, 8, 64], [0, 2, 1, 3])).toEqual({ dims: [4, 8, 32, 64], strides: [16384, 64, 512, 1] });
    expect(transposeLayout([4, 8, 32, 64], [0, 1, 3, 2])).toEqual({ dims: [1, 32, 64, 32], strides: [0, 2048, 1, 64] });
    expect(transposeLayout([1, 9, 1, 6], [3, 1, 0, 2])).toEqual({ dims: [1, 1, 6, 9], strides: [0, 0, 1, 6] });
    expect(transposeLayout([6, 7], [0, 1])).toEqual({ dims: [1, 1, 1, 42], strides: [0, 0, 0, 1] });
    expect(transposeLayout([3, 4, 5, 6, 7], [4, 3, 2, 1, 0])).toBeNull();
  });

  it('int64 defers to the reference kernel', () => {
    const x: CpuTensor = { dtype: 'int64', shape: [3, 4], data: Float64Array.from({ length: 12 }, (_, i) => i) };
    const want: CpuTensor = { dtype: 'int64', shape: [4, 3], data: new Float64Array(12) };
    shapeOpsKernels.transpose([x], [want], { perm: [1, 0] });
    for (const { name, engine: e } of cases) {
      const { engine, calls } = counting(e);
      const got: CpuTensor = { dtype: 'int64', shape: [4, 3], data: new Float64Array(12) };
      createFastKernels(() => engine).transpose([x], [got], { perm: [1, 0] });
      expect(calls.size, name).toBe(0);
      expect(got.data, name).toEqual(want.data);
    }
  });
});
