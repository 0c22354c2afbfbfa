/**
 * The matmul borrowed from onnxruntime-node (src/borrowed-ort.ts) gives the reference kernel's
 * results in every transpose combination, batched and broadcast, with operands in plain and in
 * shared memory (the fast kernels' heap, copied through staging buffers); it declines float64.
 */
import { CPU_KERNELS, cpuAlloc, type CpuTensor } from '@pockengine/backend-cpu';
import { OPS, rng, type AttrsOf } from '@pockengine/core';
import { describe, expect, it } from 'vitest';
import { ortKernels } from '../src/borrowed-ort.js';

function rand(shape: number[], seed: number, shared = false): CpuTensor {
  const t = cpuAlloc('float32', shape);
  const n = t.data.length;
  if (shared) t.data = new Float32Array(new SharedArrayBuffer(4 * (n + 3)), 12, n) as typeof t.data;
  const r = rng(seed);
  for (let i = 0; i < n; i++) t.data[i] = 2 * r() - 1;
  return t;
}

function outputOf(inputs: CpuTensor[], attrs: AttrsOf<'matmul'>, shared = false): CpuTensor {
  const [t] = (OPS.matmul as unknown as { infer: (i: unknown[], a: unknown, w: unknown) => { dtype: 'float32'; shape: number[] }[] }).infer(
    inputs.map((x) => ({ dtype: x.dtype, shape: x.shape })),
    attrs,
    {},
  );
  const out = cpuAlloc('float32', t!.shape);
  if (shared) out.data = new Float32Array(new SharedArrayBuffer(4 * out.data.length + 8), 8, out.data.length) as typeof out.data;
  out.data.fill(Number.NaN); // every element must be written
  return out;
}

function expectClose(got: CpuTensor, want: CpuTensor, label: string) {
  const scale = Math.max(1, ...Array.from(want.data as Float32Array, Math.abs));
  let worst = 0;
  for (let i = 0; i < want.data.length; i++) worst = Math.max(worst, Math.abs(Number(got.data[i]) - Number(want.data[i])) / scale);
  // float32 sums of up to 300 terms in another order (and FMA): a few ulp of the largest value
  expect(worst, label).toBeLessThan(1e-5);
}

let available: { impl: Awaited<ReturnType<typeof ortKernels>>['impl'] } | Error;
try {
  available = await ortKernels();
} catch (e) {
  available = e as Error;
}

describe('borrowed onnxruntime-node matmul', () => {
  it('loads (onnxruntime-node is a dependency of the cli and runs synchronously here)', () => {
    expect(available instanceof Error ? available.message : 'ok').toBe('ok');
  });
  const matmuls: [number[], number[], boolean, boolean][] = [
    [[7, 5], [5, 9], false, false],
    [[5, 7], [5, 9], true, false],
    [[7, 5], [9, 5], false, true],
    [[5, 7], [9, 5], true, true],
    [[3, 7, 5], [5, 9], false, false],
    [[3, 7, 5], [9, 5], false, true],
    [[3, 5, 7], [5, 9], true, false],
    [[3, 7, 5], [3, 5, 9], false, false],
    [[3, 5, 7], [3, 9, 5], true, true],
    [[7, 5], [2, 5, 9], false, false],
    [[2, 1, 7, 5], [3, 9, 5], false, true],
    [[64, 300], [300, 130], false, false],
    [[300, 64], [130, 300], true, true],
  ];
  for (const shared of [false, true])
    it.each(matmuls.map((m, i) => [i, ...m] as const))(`matmul #%i %j x %j (${shared ? 'shared' : 'plain'} memory)`, (i, as, bs, transA, transB) => {
      if (available instanceof Error) throw available;
      const inputs = [rand(as, 1 + i, shared), rand(bs, 50 + i, shared)];
      const attrs = { transA, transB };
      const want = outputOf(inputs, attrs);
      const got = outputOf(inputs, attrs, shared);
      CPU_KERNELS.matmul(inputs, [want], attrs);
      available.impl.kernels.matmul!(inputs, [got], attrs);
      expectClose(got, want, `matmul ${as} x ${bs}`);
      // a second call reuses the session and the staging buffers
      const again = outputOf(inputs, attrs, shared);
      available.impl.kernels.matmul!(inputs, [again], attrs);
      expect(Array.from(again.data as Float32Array)).toEqual(Array.from(got.data as Float32Array));
    });

  it('matmul_sgd_update: the product on onnxruntime, then p - lr * product (in place, shared memory too)', () => {
    if (available instanceof Error) throw available;
    for (const shared of [false, true]) {
      const p = rand([9, 7], 3, shared);
      const a = rand([5, 9], 4, shared);
      const b = rand([7, 5], 5, shared);
      const lr = cpuAlloc('float32', []);
      lr.data[0] = 0.3;
      const inputs = [p, a, b, lr, cpuAlloc('float32', [])];
      const attrs = { transA: true, transB: true };
      const want = cpuAlloc('float32', [9, 7]);
      CPU_KERNELS.matmul_sgd_update!(inputs, [want], attrs);
      available.impl.kernels.matmul_sgd_update!(inputs, [p], attrs); // in place, as the plan runs it
      expectClose(p, want, `matmul_sgd_update (${shared ? 'shared' : 'plain'})`);
    }
  });

  it('declines float64', () => {
    if (available instanceof Error) throw available;
    const f64 = [cpuAlloc('float64', [2, 2]), cpuAlloc('float64', [2, 2])];
    expect(() => available instanceof Error || available.impl.kernels.matmul!(f64, [cpuAlloc('float64', [2, 2])], { transA: false, transB: false })).toThrow(/float32/);
  });
});
