/**
 * Conformance of the fast matmul against the reference kernel on every engine: transposes, odd
 * sizes, batch broadcasting (both sides, size-1 axes, the folded [B, T, D] x [D, E] case), an empty
 * inner dimension. Also the table's fallbacks: float64 operands and an exhausted heap both give
 * the reference kernel's exact result.
 */
import type { MatmulAttrs } from '@pockengine/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { matmulKernels } from '../../src/kernels/matmul.js';
import { CpuBackend, CPU_KERNELS, FAST_KERNELS } from '../../src/index.js';
import { HeapExhausted, JsEngine, createFastKernels } from '../../src/fast/index.js';
import { disposeAll, empty, engines, expectClose, rand, type EngineCase } from './helpers.js';

interface MatmulCase {
  a: number[];
  b: number[];
  transA?: boolean;
  transB?: boolean;
}

const CASES: MatmulCase[] = [
  { a: [1, 1], b: [1, 1] },
  { a: [5, 7], b: [7, 3] },
  { a: [7, 5], b: [7, 3], transA: true },
  { a: [5, 7], b: [3, 7], transB: true },
  { a: [7, 5], b: [3, 7], transA: true, transB: true },
  { a: [33, 17], b: [17, 45] },
  { a: [2, 3, 5, 4], b: [3, 4, 6] },
  { a: [1, 5, 4], b: [3, 4, 2] },
  { a: [4, 5, 6], b: [6, 7] },
  { a: [3, 4, 6], b: [5, 6], transB: true },
  { a: [2, 3, 4, 6], b: [1, 6, 5] },
  { a: [2, 1, 9, 6], b: [1, 3, 9, 10], transA: true },
  { a: [3, 8, 6], b: [3, 5, 6], transB: true },
  { a: [6, 11], b: [2, 4, 11, 3] },
  { a: [3, 0], b: [0, 4] },
  { a: [130, 300], b: [300, 1030] },
  { a: [2, 64, 200], b: [200, 96] },
];

/** torch.matmul's output shape, written out independently of core's matmulDims. */
function outShape(c: MatmulCase): number[] {
  const m = c.transA ? c.a.at(-1)! : c.a.at(-2)!;
  const n = c.transB ? c.b.at(-2)! : c.b.at(-1)!;
  const ab = c.a.slice(0, -2);
  const bb = c.b.slice(0, -2);
  const r = Math.max(ab.length, bb.length);
  const batch = Array.from({ length: r }, (_, i) => Math.max(ab[ab.length - r + i] ?? 1, bb[bb.length - r + i] ?? 1));
  return [...batch, m, n];
}

describe('fast matmul matches the reference kernel', () => {
  let cases: EngineCase[] = [];
  beforeAll(async () => {
    cases = await engines();
  });
  afterAll(() => disposeAll(cases));

  for (const c of CASES) {
    const attrs: MatmulAttrs = { transA: c.transA ?? false, transB: c.transB ?? false };
    it(`${JSON.stringify(c.a)}${attrs.transA ? 'ᵀ' : ''} x ${JSON.stringify(c.b)}${attrs.transB ? 'ᵀ' : ''}`, () => {
      const a = rand(c.a, 1);
      const b = rand(c.b, 2);
      const shape = outShape(c);
      const want = empty(shape);
      matmulKernels.matmul([a, b], [want], attrs);
      const k = attrs.transA ? c.a.at(-2)! : c.a.at(-1)!;
      for (const { name, engine } of cases) {
        const got = empty(shape);
        got.data.fill(Number.NaN); // every output must be written
        createFastKernels(() => engine).matmul([a, b], [got], attrs);
        expectClose(got.data, want.data, k, name);
      }
    });
  }
});

describe('fast kernel table fallbacks', () => {
  const attrs: MatmulAttrs = { transA: false, transB: true };

  it('float64 operands run the reference kernel (bit-identical)', () => {
    const a = rand([6, 5], 1, 'float64');
    const b = rand([4, 5], 2, 'float64');
    const want = empty([6, 4], 'float64');
    const got = empty([6, 4], 'float64');
    matmulKernels.matmul([a, b], [want], attrs);
    FAST_KERNELS.matmul!([a, b], [got], attrs);
    expect(Array.from(got.data)).toEqual(Array.from(want.data));
    const x = rand([1, 2, 5, 5], 3, 'float64');
    const w = rand([3, 2, 3, 3], 4, 'float64');
    const conv = { strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], groups: 1 };
    const y0 = empty([1, 3, 5, 5], 'float64');
    const y = empty([1, 3, 5, 5], 'float64');
    CPU_KERNELS.conv2d([x, w], [y0], conv);
    FAST_KERNELS.conv2d!([x, w], [y], conv);
    expect(Array.from(y.data)).toEqual(Array.from(y0.data));
  });

  it('an exhausted heap runs the reference kernel', () => {
    const full = new JsEngine();
    full.alloc = () => {
      throw new HeapExhausted(1 << 30);
    };
    const a = rand([6, 5], 1);
    const b = rand([4, 5], 2);
    const want = empty([6, 4]);
    const got = empty([6, 4]);
    matmulKernels.matmul([a, b], [want], attrs);
    createFastKernels(() => full).matmul([a, b], [got], attrs);
    expect(Array.from(got.data)).toEqual(Array.from(want.data));
  });

  it('other engine errors propagate', () => {
    const broken = new JsEngine();
    broken.gemm = () => {
      throw new Error('boom');
    };
    expect(() => createFastKernels(() => broken).matmul([rand([2, 2], 1), rand([2, 2], 2)], [empty([2, 2])], attrs)).toThrow('boom');
  });

  it('plugs into CpuBackend over the reference table', () => {
    const backend = new CpuBackend({ ...CPU_KERNELS, ...FAST_KERNELS });
    expect(backend.name).toBe('cpu');
    expect(Object.keys(FAST_KERNELS).sort()).toEqual([
      'abs', 'add', 'batch_norm', 'batch_norm_grad', 'concat', 'conv2d', 'conv2d_grad_input', 'conv2d_grad_weight', 'div', 'erf', 'exp', 'expand',
      'in_range', 'layer_norm', 'layer_norm_grad', 'matmul', 'matmul_sgd_update', 'mul', 'neg', 'reciprocal', 'reduce_mean', 'reduce_sum', 'rsqrt', 'sgd_update', 'sigmoid', 'slice',
      'slice_grad', 'softmax', 'softmax_cross_entropy', 'softmax_cross_entropy_grad', 'split', 'sqrt', 'sub', 'tanh', 'transpose', 'where',
    ]);
  });
});
