/**
 * The kernels borrowed from TF.js's wasm backend (src/borrowed.ts) give the reference kernels'
 * results on every form they accept (backend switching may pick them by speed alone), and
 * decline the others by throwing.
 */
import { CPU_KERNELS, cpuAlloc, type CpuTensor } from '@pockengine/backend-cpu';
import { OPS, rng, type AttrsOf } from '@pockengine/core';
import { describe, expect, it } from 'vitest';
import { tfjsWasmKernels } from '../src/borrowed.js';

function rand(shape: number[], seed: number): CpuTensor {
  const t = cpuAlloc('float32', shape);
  const r = rng(seed);
  for (let i = 0; i < t.data.length; i++) t.data[i] = 2 * r() - 1;
  return t;
}

function outputsOf<K extends 'matmul' | 'conv2d'>(op: K, inputs: CpuTensor[], attrs: AttrsOf<K>): CpuTensor[] {
  const types = (OPS[op] as unknown as { infer: (i: unknown[], a: unknown, w: unknown) => { dtype: 'float32'; shape: number[] }[] }).infer(
    inputs.map((t) => ({ dtype: t.dtype, shape: t.shape })),
    attrs,
    {},
  );
  return types.map((t) => cpuAlloc(t.dtype, t.shape));
}

function expectSame(got: CpuTensor, want: CpuTensor, label: string) {
  const scale = Math.max(1, ...Array.from(want.data as Float32Array, Math.abs));
  let worst = 0;
  for (let i = 0; i < want.data.length; i++) worst = Math.max(worst, Math.abs(Number(got.data[i]) - Number(want.data[i])) / scale);
  expect(worst, label).toBeLessThan(1e-5);
}

describe('borrowed tfjs-wasm kernels', async () => {
  const { impl } = await tfjsWasmKernels();
  const k = impl.kernels;

  const matmuls: [number[], number[], boolean, boolean][] = [
    [[7, 5], [5, 9], false, false],
    [[5, 7], [5, 9], true, false],
    [[7, 5], [9, 5], false, true],
    [[3, 7, 5], [5, 9], false, false],
    [[3, 5, 7], [5, 9], true, false],
    [[3, 7, 5], [3, 5, 9], false, false],
    [[7, 5], [2, 5, 9], false, false],
    [[2, 1, 7, 5], [3, 9, 5], false, true],
  ];
  it.each(matmuls.map((m, i) => [i, ...m] as const))('matmul #%i %j x %j', (i, as, bs, transA, transB) => {
    const inputs = [rand(as, 1 + i), rand(bs, 50 + i)];
    const attrs = { transA, transB };
    const want = outputsOf('matmul', inputs, attrs);
    const got = outputsOf('matmul', inputs, attrs);
    CPU_KERNELS.matmul(inputs, want, attrs);
    k.matmul!(inputs, got, attrs);
    expectSame(got[0]!, want[0]!, `matmul ${as} x ${bs}`);
  });

  const convs: { x: number[]; w: number[]; strides: number[]; pads: number[]; dilations: number[]; groups: number; bias: boolean; activation?: 'relu' | 'relu6' }[] = [
    { x: [2, 3, 9, 8], w: [5, 3, 3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], groups: 1, bias: true },
    { x: [2, 4, 9, 8], w: [6, 4, 3, 3], strides: [2, 2], pads: [0, 1, 1, 0], dilations: [1, 1], groups: 1, bias: false, activation: 'relu6' },
    { x: [1, 3, 10, 10], w: [4, 3, 3, 2], strides: [1, 1], pads: [2, 0, 2, 1], dilations: [2, 1], groups: 1, bias: true, activation: 'relu' },
    { x: [2, 8, 7, 7], w: [16, 8, 1, 1], strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], groups: 1, bias: true },
    { x: [2, 6, 9, 9], w: [6, 1, 3, 3], strides: [2, 2], pads: [1, 1, 1, 1], dilations: [1, 1], groups: 6, bias: true, activation: 'relu6' },
    { x: [1, 4, 8, 8], w: [4, 1, 5, 5], strides: [1, 1], pads: [2, 2, 2, 2], dilations: [1, 1], groups: 4, bias: false },
  ];
  it.each(convs.map((c, i) => [i, c] as const))('conv2d #%i', (i, c) => {
    const inputs = [rand(c.x, 3 + i), rand(c.w, 30 + i), ...(c.bias ? [rand([c.w[0]!], 60 + i)] : [])];
    const attrs = { strides: c.strides, pads: c.pads, dilations: c.dilations, groups: c.groups, ...(c.activation ? { activation: c.activation } : {}) } as AttrsOf<'conv2d'>;
    const want = outputsOf('conv2d', inputs, attrs);
    const got = outputsOf('conv2d', inputs, attrs);
    CPU_KERNELS.conv2d(inputs, want, attrs);
    k.conv2d!(inputs, got, attrs);
    expectSame(got[0]!, want[0]!, `conv2d #${i}`);
  });

  it('declines what it cannot express (grouped convs, strides and dilations both > 1, float64)', () => {
    const dilated = [rand([1, 3, 10, 10], 4), rand([4, 3, 3, 2], 5)];
    const both = { strides: [1, 2], pads: [0, 0, 0, 0], dilations: [2, 1], groups: 1 } as AttrsOf<'conv2d'>;
    expect(() => k.conv2d!(dilated, outputsOf('conv2d', dilated, both), both)).toThrow();
    const inputs = [rand([1, 4, 6, 6], 1), rand([4, 2, 3, 3], 2)];
    const attrs = { strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], groups: 2 } as AttrsOf<'conv2d'>;
    expect(() => k.conv2d!(inputs, outputsOf('conv2d', inputs, attrs), attrs)).toThrow(/grouped/);
    const f64 = [cpuAlloc('float64', [2, 2]), cpuAlloc('float64', [2, 2])];
    expect(() => k.matmul!(f64, [cpuAlloc('float64', [2, 2])], { transA: false, transB: false })).toThrow(/float32/);
  });
});
