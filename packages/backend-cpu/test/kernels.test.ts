/**
 * Forward values of the elementwise, matmul, reduce and shape kernels against naive loops and
 * hand-computed results: broadcasting, transposes, negative axes and steps, clamping, negative
 * and out-of-range indices, numerically large softmax inputs, casts.
 */
import {
  GraphBuilder,
  OPS,
  PockError,
  Program,
  dce,
  gradients,
  rng,
  size,
  stridesOf,
  tensor,
  type AttrsOf,
  type DType,
  type OpDef,
  type OpName,
  type Shape,
} from '@pockengine/core';
import { describe, expect, it } from 'vitest';
import { CpuBackend, cpuAlloc, type CpuKernel, type CpuKernelTable, type CpuTensor } from '../src/index.js';
import { elementwiseKernels, erf } from '../src/kernels/elementwise.js';
import { matmulKernels } from '../src/kernels/matmul.js';
import { reduceKernels } from '../src/kernels/reduce.js';
import { shapeOpsKernels } from '../src/kernels/shape-ops.js';

const KERNELS: Partial<CpuKernelTable> = { ...elementwiseKernels, ...matmulKernels, ...reduceKernels, ...shapeOpsKernels };

function t(dtype: DType, shape: Shape, values: ArrayLike<number>): CpuTensor {
  const x = cpuAlloc(dtype, shape);
  x.data.set(values);
  return x;
}
const f64 = (shape: Shape, values: ArrayLike<number>) => t('float64', shape, values);
const arange = (n: number) => Array.from({ length: n }, (_, i) => i);
function random(shape: Shape, seed: number, dtype: DType = 'float64'): CpuTensor {
  const r = rng(seed);
  return t(dtype, shape, Array.from({ length: size(shape) }, () => 2 * r() - 1));
}

/** Runs one op's kernel on outputs allocated from core's shape inference. */
function run<K extends OpName>(op: K, inputs: CpuTensor[], attrs: AttrsOf<K>): CpuTensor[] {
  const def = OPS[op] as unknown as OpDef<AttrsOf<K>>;
  const outs = def.infer(inputs, attrs, { op }).map((ti) => cpuAlloc(ti.dtype, ti.shape));
  (KERNELS[op] as CpuKernel<AttrsOf<K>>)(inputs, outs, attrs);
  return outs;
}
const run1 = <K extends OpName>(op: K, inputs: CpuTensor[], attrs: AttrsOf<K>) => run(op, inputs, attrs)[0]!;
const none = {} as AttrsOf<'add'>;

function expectClose(got: CpuTensor, shape: Shape, want: ArrayLike<number>, tol = 1e-12) {
  expect(got.shape).toEqual(shape);
  expect(got.data.length).toBe(want.length);
  for (let i = 0; i < want.length; i++)
    expect(Math.abs(got.data[i]! - want[i]!), `element ${i}: got ${got.data[i]}, want ${want[i]}`).toBeLessThanOrEqual(tol);
}

/** Element of `x` at a multi-index, numpy-broadcast from the right (size-1 axes repeat). */
function at(x: CpuTensor, idx: readonly number[]): number {
  const s = stridesOf(x.shape);
  const lead = idx.length - x.shape.length;
  let o = 0;
  x.shape.forEach((d, i) => (o += (d === 1 ? 0 : idx[i + lead]!) * s[i]!));
  return x.data[o]!;
}
function* indices(shape: Shape): Generator<number[]> {
  const n = size(shape);
  const st = stridesOf(shape);
  for (let i = 0; i < n; i++) yield shape.map((d, k) => Math.floor(i / st[k]!) % d);
}

describe('matmul', () => {
  /** C[b..., i, j] = sum_p A[b..., i, p] B[b..., p, j], read through explicit index arithmetic. */
  function naive(a: CpuTensor, b: CpuTensor, transA: boolean, transB: boolean, out: Shape): number[] {
    const k = transA ? a.shape.at(-2)! : a.shape.at(-1)!;
    return [...indices(out)].map((idx) => {
      const batch = idx.slice(0, -2);
      const [i, j] = idx.slice(-2) as [number, number];
      let s = 0;
      for (let p = 0; p < k; p++)
        s += at(a, [...batch, ...(transA ? [p, i] : [i, p])]) * at(b, [...batch, ...(transB ? [j, p] : [p, j])]);
      return s;
    });
  }
  for (const transA of [false, true])
    for (const transB of [false, true]) {
      it(`2-D transA=${transA} transB=${transB}`, () => {
        const a = random(transA ? [4, 3] : [3, 4], 1);
        const b = random(transB ? [5, 4] : [4, 5], 2);
        const y = run1('matmul', [a, b], { transA, transB });
        expectClose(y, [3, 5], naive(a, b, transA, transB, [3, 5]));
      });
      it(`batch broadcast [2,1,..] x [3,..] transA=${transA} transB=${transB}`, () => {
        const a = random(transA ? [2, 1, 4, 3] : [2, 1, 3, 4], 3);
        const b = random(transB ? [3, 5, 4] : [3, 4, 5], 4);
        const y = run1('matmul', [a, b], { transA, transB });
        expectClose(y, [2, 3, 3, 5], naive(a, b, transA, transB, [2, 3, 3, 5]));
      });
    }
  it('float32 accumulates accurately', () => {
    const a = random([2, 7, 9], 5, 'float32');
    const b = random([9, 6], 6, 'float32');
    const y = run1('matmul', [a, b], { transA: false, transB: false });
    expect(y.data).toBeInstanceOf(Float32Array);
    expectClose(y, [2, 7, 6], naive(a, b, false, false, [2, 7, 6]), 1e-6);
  });
});

describe('elementwise', () => {
  it('broadcasts binary ops both ways', () => {
    const a = f64([2, 3, 1], [1, 2, 3, 4, 5, 6]);
    const b = f64([4], [10, 20, 30, 40]);
    const want = [...indices([2, 3, 4])].map((i) => at(a, i) - at(b, i));
    expectClose(run1('sub', [a, b], none), [2, 3, 4], want);
    expectClose(run1('sub', [b, a], none), [2, 3, 4], want.map((x) => -x));
    expectClose(run1('mul', [f64([], [2]), a], none), [2, 3, 1], [2, 4, 6, 8, 10, 12]);
    expectClose(run1('maximum', [f64([3, 1], [1, 5, 3]), f64([1, 2], [2, 4])], none), [3, 2], [2, 4, 5, 5, 3, 4]);
    expectClose(run1('pow', [f64([2], [2, 9]), f64([], [0.5])], none), [2], [Math.SQRT2, 3]);
  });
  it('integer arithmetic: exact int32 products, division truncates toward zero', () => {
    expectClose(run1('mul', [t('int32', [1], [65537]), t('int32', [1], [65537])], none), [1], [(65537 * 65537) | 0]);
    expectClose(run1('div', [t('int64', [4], [7, -7, 7, -7]), t('int64', [4], [2, 2, -2, -2])], none), [4], [3, -3, -3, 3]);
    expect(() => run1('div', [t('int32', [1], [1]), t('int32', [1], [0])], none)).toThrow(PockError);
  });
  it('comparisons and where broadcast', () => {
    const c = run1('greater', [f64([3, 1], [0, 2, 4]), f64([2], [1, 3])], none);
    expect([...c.data]).toEqual([0, 0, 1, 0, 1, 1]);
    expect(c.dtype).toBe('bool');
    const y = run1('where', [c, f64([], [-1]), f64([3, 2], [10, 11, 12, 13, 14, 15])], none);
    expectClose(y, [3, 2], [10, 11, -1, 13, -1, -1]);
  });
  it('cast: float -> int truncates toward zero, -> bool is x != 0', () => {
    const x = f64([6], [-2.7, -0.5, 0.5, 2.9, 3, -0]);
    expectClose(run1('cast', [x], { to: 'int32' }), [6], [-2, 0, 0, 2, 3, 0]);
    expectClose(run1('cast', [x], { to: 'int64' }), [6], [-2, 0, 0, 2, 3, 0]);
    expect([...run1('cast', [f64([5], [0, -0, 0.1, -3, NaN])], { to: 'bool' }).data]).toEqual([0, 0, 1, 1, 1]);
    expect([...run1('cast', [t('int64', [2], [-4, 5])], { to: 'bool' }).data]).toEqual([1, 1]);
    expectClose(run1('cast', [t('bool', [2], [1, 0])], { to: 'float32' }), [2], [1, 0]);
  });
  it('erf is accurate to double precision', () => {
    // reference values: erf(0.5), erf(1), erf(2), erf(3) (Abramowitz & Stegun table 7.1, extended)
    const want: [number, number][] = [[0, 0], [0.5, 0.5204998778130465], [1, 0.8427007929497149], [2, 0.9953222650189527], [3, 0.9999779095030014], [-1, -0.8427007929497149], [7, 1]];
    for (const [x, e] of want) expect(Math.abs(erf(x) - e), `erf(${x})`).toBeLessThan(1e-15);
  });
});

describe('reductions', () => {
  const x = f64([2, 3, 4], arange(24));
  it('reduce_sum over negative axes, keepdims', () => {
    const y = run1('reduce_sum', [x], { axes: [-1, 0], keepdims: true });
    // sum over i0 and i2 of 12*i0 + 4*i1 + i2 = 12*4 + 8*4*i1 + 2*6
    expectClose(y, [1, 3, 1], [60, 92, 124]);
    expectClose(run1('reduce_sum', [x], { axes: [-2], keepdims: false }), [2, 4], [12, 15, 18, 21, 48, 51, 54, 57]);
    expectClose(run1('reduce_sum', [x], { axes: [0, 1, 2], keepdims: false }), [], [276]);
  });
  it('reduce_mean and reduce_max', () => {
    expectClose(run1('reduce_mean', [x], { axes: [1], keepdims: true }), [2, 1, 4], [4, 5, 6, 7, 16, 17, 18, 19]);
    const n = f64([2, 3], [-5, -1, -3, -7, -2, -9]);
    expectClose(run1('reduce_max', [n], { axes: [-1], keepdims: false }), [2], [-1, -2]);
    expectClose(run1('reduce_max', [n], { axes: [0], keepdims: true }), [1, 3], [-5, -1, -3]);
  });
  it('softmax / log_softmax are stable for large inputs', () => {
    const big = f64([2, 3], [1000, 1001, 1002, -1000, -1001, -1002]);
    const z = 1 + Math.exp(-1) + Math.exp(-2);
    const p = [Math.exp(-2) / z, Math.exp(-1) / z, 1 / z];
    expectClose(run1('softmax', [big], { axis: -1 }), [2, 3], [...p, ...[...p].reverse()], 1e-15);
    const lp = p.map(Math.log);
    expectClose(run1('log_softmax', [big], { axis: 1 }), [2, 3], [...lp, ...[...lp].reverse()], 1e-12);
    // along axis 0, in float32: a pair (1e4, -1e4) gives (1, 0) and log-probs (0, -2e4)
    const f = t('float32', [2, 2], [1e4, 50, -1e4, 50]);
    expectClose(run1('softmax', [f], { axis: 0 }), [2, 2], [1, 0.5, 0, 0.5], 1e-7);
    expectClose(run1('log_softmax', [f], { axis: 0 }), [2, 2], [0, Math.log(0.5), -2e4, Math.log(0.5)], 1e-6);
  });
});

describe('shape ops', () => {
  const v = f64([10], arange(10));
  it('slice with negative steps and clamped bounds', () => {
    const s = (starts: number[], ends: number[], steps: number[]) => run1('slice', [v], { starts, ends, axes: [0], steps });
    expect([...s([8], [1], [-3]).data]).toEqual([8, 5, 2]);
    expect([...s([100], [-100], [-1]).data]).toEqual(arange(10).reverse());
    expect([...s([-3], [1000], [1]).data]).toEqual([7, 8, 9]);
    expect([...s([-100], [3], [2]).data]).toEqual([0, 2]);
    expect(s([5], [5], [1]).shape).toEqual([0]);
    const m = run1('slice', [f64([3, 4], arange(12))], { starts: [-1, 0], ends: [-4, 100], axes: [0, -1], steps: [-2, 3] });
    expectClose(m, [2, 2], [8, 11, 0, 3]);
  });
  it('slice_grad scatters into zeros', () => {
    const attrs = { starts: [8], ends: [1], axes: [0], steps: [-3], inputShape: [10] };
    expect([...run1('slice_grad', [f64([3], [1, 2, 3])], attrs).data]).toEqual([0, 0, 3, 0, 0, 2, 0, 0, 1, 0]);
  });
  it('gather with negative indices; out-of-range indices throw an input error naming the index', () => {
    const d = f64([3, 2], [0, 1, 10, 11, 20, 21]);
    expectClose(run1('gather', [d, t('int64', [2, 2], [-1, 0, 1, -3])], { axis: 0 }), [2, 2, 2], [20, 21, 0, 1, 10, 11, 0, 1]);
    expectClose(run1('gather', [d, t('int32', [3], [1, -1, 0])], { axis: -1 }), [3, 3], [1, 1, 0, 11, 11, 10, 21, 21, 20]);
    for (const bad of [3, -4]) {
      let err: unknown;
      try {
        run1('gather', [d, t('int64', [2], [0, bad])], { axis: 0 });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(PockError);
      expect((err as PockError).code).toBe('input');
      expect((err as PockError).message).toContain(`index ${bad}`);
    }
  });
  it('scatter_add accumulates repeated indices', () => {
    const y = run1('scatter_add', [t('int64', [4], [1, -1, 1, 1]), f64([4, 2], [1, 2, 3, 4, 5, 6, 7, 8])], { axis: 0, shape: [3, 2] });
    expectClose(y, [3, 2], [0, 0, 13, 16, 3, 4]);
    expect(() => run1('scatter_add', [t('int64', [1], [3]), f64([1, 2], [1, 2])], { axis: 0, shape: [3, 2] })).toThrow(PockError);
  });
  it('pad', () => {
    const y = run1('pad', [f64([2, 2], [1, 2, 3, 4])], { pads: [1, 0, 0, 2], value: -1 });
    expectClose(y, [3, 4], [-1, -1, -1, -1, 1, 2, -1, -1, 3, 4, -1, -1]);
  });
  it('concat and split round-trip', () => {
    const a = f64([2, 1], [1, 2]);
    const b = f64([2, 3], [3, 4, 5, 6, 7, 8]);
    const c = run1('concat', [a, b, a], { axis: -1 });
    expectClose(c, [2, 5], [1, 3, 4, 5, 1, 2, 6, 7, 8, 2]);
    const [p, q, r] = run('split', [c], { axis: 1, sizes: [1, 3, 1] });
    expectClose(p!, [2, 1], [1, 2]);
    expectClose(q!, [2, 3], [3, 4, 5, 6, 7, 8]);
    expectClose(r!, [2, 1], [1, 2]);
    expectClose(run1('concat', [a, a], { axis: 0 }), [4, 1], [1, 2, 1, 2]);
  });
  it('transpose', () => {
    const x = f64([2, 3, 4], arange(24));
    const y = run1('transpose', [x], { perm: [2, 0, 1] });
    expectClose(y, [4, 2, 3], [...indices([4, 2, 3])].map(([k, i, j]) => at(x, [i!, j!, k!])));
  });
  it('expand and reshape', () => {
    expectClose(run1('expand', [f64([3, 1], [1, 2, 3])], { shape: [2, 1, 2] }), [2, 3, 2], [1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3]);
    expectClose(run1('reshape', [f64([2, 3], arange(6))], { shape: [3, -1] }), [3, 2], arange(6));
  });
});

describe('split with an unused output', () => {
  it('gives a zero gradient to the unused piece', async () => {
    const b = new GraphBuilder('split_unused');
    const x = b.input('x', 'float64', [2, 4]);
    const [p] = b.op('split', [x], { axis: 1, sizes: [3, 1] });
    const w = b.constant(tensor('float64', [2, 3], [1, 2, 3, 4, 5, 6]));
    const loss = b.reduceSum(b.mul(p!, w), [0, 1]);
    b.output('loss', loss);
    const { graph, grads } = gradients(b.build(), loss, [x]);
    const gb = new GraphBuilder(graph.name, { ...graph, outputs: [] });
    gb.output('g', grads.get(x)!);
    const out = await Program.create(dce(gb.build()), new CpuBackend()).step({ x: tensor('float64', [2, 4], arange(8)) });
    expect([...out.g!.data]).toEqual([1, 2, 3, 0, 4, 5, 6, 0]);
  });
});
