/**
 * End to end: a small float32 MobileNet-style block (3x3 conv, relu6, depthwise 3x3 stride 2,
 * pointwise 1x1, global pooling via reshape + matmul) and its weight gradients, compiled once and
 * run on the reference backend and on one with FAST_KERNELS after initFastKernels (threads, then
 * the forced pure-JS engine). Results agree to float32 accuracy.
 */
import { GraphBuilder, Program, compileTrainingGraph, dce, gradients, nn, parseScheme, rng, size, tensor, type Tensor } from '@pockengine/core';
import { afterAll, describe, expect, it } from 'vitest';
import { CpuBackend, CPU_KERNELS, FAST_KERNELS, disposeFastKernels, fastHeap, initFastKernels, wasmSimdSupported, wasmThreadsSupported } from '../../src/index.js';
import { expectClose } from './helpers.js';

function rand(shape: number[], seed: number, scale = 1): Tensor {
  const r = rng(seed);
  return tensor('float32', shape, Array.from({ length: size(shape) }, () => scale * (2 * r() - 1)));
}

function buildProgram() {
  const b = new GraphBuilder('block');
  const x = b.input('x', 'float32', [2, 3, 12, 10]);
  const w1 = b.input('w1', 'float32', [8, 3, 3, 3]);
  const wd = b.input('wd', 'float32', [8, 1, 3, 3]);
  const wp = b.input('wp', 'float32', [12, 8, 1, 1]);
  const fc = b.input('fc', 'float32', [12 * 6 * 5, 4]);
  const conv = (a: number, w: number, strides: number[], pads: number[], groups: number, bias?: number) =>
    b.op1('conv2d', bias === undefined ? [a, w] : [a, w, bias], { strides, pads, dilations: [1, 1], groups });
  let h = conv(x, w1, [1, 1], [1, 1, 1, 1], 1, b.constant(rand([8], 5)));
  h = b.op1('clip', [h], { min: 0, max: 6 });
  h = conv(h, wd, [2, 2], [1, 1, 1, 1], 8);
  h = b.op1('relu', [h], {});
  h = conv(h, wp, [1, 1], [0, 0, 0, 0], 1);
  const logits = b.matmul(b.reshape(h, [2, 12 * 6 * 5]), fc);
  const loss = b.reduceSum(b.mul(logits, logits), [0, 1]);
  b.output('loss', loss);
  const { graph, grads } = gradients(b.build(), loss, [w1, wd, wp, fc]);
  const gb = new GraphBuilder(graph.name, graph);
  gb.output('logits', logits);
  for (const [name, v] of [['gw1', w1], ['gwd', wd], ['gwp', wp], ['gfc', fc]] as const) gb.output(name, grads.get(v)!);
  return dce(gb.build());
}

const FEEDS = { x: rand([2, 3, 12, 10], 1, 2), w1: rand([8, 3, 3, 3], 2), wd: rand([8, 1, 3, 3], 3), wp: rand([12, 8, 1, 1], 4), fc: rand([360, 4], 6, 0.1) };

async function run(kernels: typeof CPU_KERNELS | Partial<typeof CPU_KERNELS>) {
  return Program.create(buildProgram(), new CpuBackend(kernels)).step(FEEDS);
}

describe('FAST_KERNELS in a compiled training step', () => {
  afterAll(() => disposeFastKernels());

  for (const mode of ['threads', 'js'] as const)
    it(`matches the reference backend (${mode})`, async () => {
      const info = await initFastKernels(mode === 'js' ? { engine: 'js' } : { threads: 2 });
      if (mode === 'js') expect(info.engine).toBe('js');
      else if (wasmSimdSupported()) expect(info.engine).toMatch(/^wasm-simd/);
      const want = await run(CPU_KERNELS);
      const got = await run({ ...CPU_KERNELS, ...FAST_KERNELS });
      for (const name of ['logits', 'loss', 'gw1', 'gwd', 'gwp', 'gfc']) {
        const w = want[name]!.data as Float32Array;
        const g = got[name]!.data as Float32Array;
        // gradients sum thousands of float32 products through several layers: compare relative to the largest entry
        const scale = Math.max(1, ...Array.from(w, Math.abs));
        expectClose(Array.from(g, (v) => v / scale), Array.from(w, (v) => v / scale), 2000, `${mode} ${name}`);
      }
    });

  it('gives bit-identical results with the program buffers in the kernels\' heap (zero-copy)', async () => {
    await initFastKernels({ threads: 2 });
    const heap = fastHeap();
    if (!heap) return expect(wasmThreadsSupported()).toBe(false); // no shared memory here: nothing to check
    const kernels = { ...CPU_KERNELS, ...FAST_KERNELS };
    const copied = await Program.create(buildProgram(), new CpuBackend(kernels)).step(FEEDS);
    const before = heap.extent();
    // a training step too: an optimizer update written in place, masks, batch norm, in-place elementwise
    const be = new CpuBackend(kernels, { heap });
    const prog = Program.create(buildProgram(), be);
    expect(heap.extent()).toBeGreaterThan(before);
    const zeroCopy = await prog.step(FEEDS);
    for (const name of ['logits', 'loss', 'gw1', 'gwd', 'gwp', 'gfc']) expect(Array.from(zeroCopy[name]!.data as Float32Array), name).toEqual(Array.from(copied[name]!.data as Float32Array));
    prog.dispose();
    expect(heap.extent()).toBe(before); // every block given back
  });

  it('trains identically with the program in the kernels\' heap (SGD with momentum, frozen-BN CNN)', async () => {
    await initFastKernels({ threads: 2 });
    const heap = fastHeap();
    if (!heap) return expect(wasmThreadsSupported()).toBe(false);
    const b = new GraphBuilder('cnn');
    const x = b.input('x', 'float32', [4, 3, 16, 16]);
    let h = x;
    for (let i = 0; i < 3; i++) {
      h = nn.conv2d(b, h, 8 + 4 * i, `c${i}`, { kernel: 3, stride: i === 0 ? 1 : 2, bias: false, seed: 10 + i });
      h = nn.relu6(b, nn.batchNorm(b, h, `bn${i}`, i === 2));
    }
    b.output('logits', nn.dense(b, nn.globalAvgPool(b, h), 5, 'head', { seed: 20 }));
    const model = b.build();
    const kernels = { ...CPU_KERNELS, ...FAST_KERNELS };
    const feeds = { x: rand([4, 3, 16, 16], 9, 2), labels: tensor('int64', [4], [1, 3, 0, 4]) };
    const weights = [];
    for (const opts of [{}, { heap }]) {
      const scheme = parseScheme({ rules: [{ params: 'head.*', update: 'full' }, { params: 'c2.*', update: 'full' }, { params: 'bn*', update: 'full' }] });
      const { graph } = compileTrainingGraph(model, { loss: { kind: 'cross-entropy' }, scheme, optimizer: { kind: 'sgd', lr: 0.05, momentum: 0.9 } });
      const prog = Program.create(graph, new CpuBackend(kernels, opts));
      const losses = [];
      for (let s = 0; s < 3; s++) losses.push(Number((await prog.step(feeds)).loss!.data[0]));
      weights.push({ losses, w: Array.from((await prog.read('c2.weight')).data as Float32Array), bn: Array.from((await prog.read('bn1.bias')).data as Float32Array) });
      prog.dispose();
    }
    expect(weights[1]).toEqual(weights[0]);
  });
});
