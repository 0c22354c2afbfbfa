/**
 * Micro-batching of the frozen prefix (core/src/passes/micro-batch.ts): the inference-only layers
 * below the lowest trained one run in slices of the batch. Asserted on structure (what is cloned,
 * what is not), on numbers (identical loss, gradients and updates) and on memory (planned peak
 * drops; the backend allocates exactly the plan).
 */
import { GraphBuilder, Program, compileTrainingGraph, nn, parseScheme, randn, tensor, type Graph, type SparseScheme, type Tensor } from '@pockengine/core';
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../src/index.js';

const BATCH = 8;

/** conv-BN-relu6 x4 (frozen BN, wide early layers) + residual add + linear head, float64. */
function cnn(trainingBn = false): Graph {
  const b = new GraphBuilder('cnn');
  const x = b.input('x', 'float64', [BATCH, 3, 16, 16]);
  let h = x;
  const widths = [24, 8, 16, 16];
  for (let i = 0; i < widths.length; i++) {
    const c = nn.conv2d(b, h, widths[i]!, `blocks.${i}.conv`, { kernel: 3, stride: i === 1 || i === 2 ? 2 : 1, bias: false, seed: 10 + i });
    const y = nn.relu6(b, nn.batchNorm(b, c, `blocks.${i}.bn`, trainingBn));
    h = i === 3 ? b.add(y, h) : y;
  }
  b.output('logits', nn.dense(b, nn.globalAvgPool(b, h), 5, 'head', { seed: 20 }));
  return b.build();
}

const feeds = () => ({ x: randn([BATCH, 3, 16, 16], 5, 1, 'float64'), labels: tensor('int64', [BATCH], [1, 3, 0, 4, 2, 2, 1, 0]) });
const maxDiff = (a: Tensor, b: Tensor) => Math.max(...Array.from(a.data as Float64Array, (v, i) => Math.abs(v - Number(b.data[i]))));

const lastLayers: SparseScheme = parseScheme({
  rules: [
    { params: 'head.*', update: 'full' },
    { params: 'blocks.3.*', update: 'full' },
    { params: 'blocks.2.bn.bias', update: 'full' },
  ],
});

function compile(model: Graph, microBatches: number | 'auto', scheme: SparseScheme | null = lastLayers, optimizer = true) {
  return compileTrainingGraph(model, {
    loss: { kind: 'cross-entropy' },
    scheme: scheme ?? undefined,
    microBatches,
    ...(optimizer ? { optimizer: { kind: 'sgd' as const, lr: 0.1, momentum: 0.9 } } : {}),
  }).graph;
}

describe('micro-batching the frozen prefix', () => {
  const model = cnn();

  it('clones only the frozen, inference-only layers, once per chunk, and gathers the boundary', () => {
    const g = compile(model, 4);
    const convs = g.nodes.filter((n) => n.op === 'conv2d').map((n) => n.name);
    // blocks.0 and blocks.1 are frozen and keep nothing for backward: 4 chunks of 2 samples each
    for (const blk of ['blocks.0.conv', 'blocks.1.conv'])
      expect(convs.filter((n) => n.startsWith(blk)).sort()).toEqual([0, 2, 4, 6].map((lo) => `${blk}[${lo}:${lo + 2}]`));
    // blocks.2 takes a trained shift (in its folded bias): gradients flow through it, so it runs whole
    expect(convs.filter((n) => n.startsWith('blocks.2') || n.startsWith('blocks.3'))).toEqual(['blocks.2.conv', 'blocks.3.conv']);
    // the input is sliced per chunk; the prefix's output is concatenated once
    expect(g.nodes.filter((n) => n.op === 'slice').length).toBe(4);
    const gathers = g.nodes.filter((n) => n.op === 'concat');
    expect(gathers.length).toBe(1);
    expect(gathers[0]!.inputs.length).toBe(4);
    expect(g.values[gathers[0]!.outputs[0]!]!.shape).toEqual([BATCH, 8, 8, 8]);
    // chunk by chunk: every node of chunk c runs before any node of chunk c+1
    const chunkOf = (name: string) => /\[(\d+):/.exec(name)?.[1];
    const seq = g.nodes.map((n) => chunkOf(n.name)).filter((c) => c !== undefined);
    expect(seq).toEqual([...seq].sort((a, b) => Number(a) - Number(b)));
  });

  it('changes no number: loss, gradients and updated weights', async () => {
    for (const chunks of [2, 4, 8]) {
      const a = await Program.create(compile(model, 1, lastLayers, false), new CpuBackend()).step(feeds());
      const b = await Program.create(compile(model, chunks, lastLayers, false), new CpuBackend()).step(feeds());
      expect(Math.abs(Number(a.loss!.data[0]) - Number(b.loss!.data[0]))).toBeLessThan(1e-12);
      for (const name of ['head.weight', 'blocks.3.conv.weight', 'blocks.2.bn.bias']) expect(maxDiff(a[`grad.${name}`]!, b[`grad.${name}`]!), name).toBeLessThan(1e-12);
    }
    const pa = Program.create(compile(model, 1), new CpuBackend());
    const pb = Program.create(compile(model, 4), new CpuBackend());
    for (let s = 0; s < 2; s++) {
      await pa.step(feeds());
      await pb.step(feeds());
    }
    expect(maxDiff(await pa.read('blocks.3.conv.weight'), await pb.read('blocks.3.conv.weight'))).toBeLessThan(1e-12);
  });

  it('lowers the planned peak, and the backend allocates exactly the plan', async () => {
    const whole = Program.create(compile(model, 1), new CpuBackend());
    const be = new CpuBackend();
    const auto = Program.create(compile(model, 'auto'), be);
    expect(auto.plan.memory.peakBytes).toBeLessThan(whole.plan.memory.peakBytes * 0.8);
    await auto.step(feeds());
    expect(be.peakBytes()).toBe(auto.plan.memory.peakBytes);
  });

  it('leaves full backprop and batch-coupled layers (training-mode BN) alone', () => {
    // full backprop: the first conv's weight gradient needs the input, there is no frozen prefix
    const full = compile(model, 'auto', null);
    expect(full.nodes.some((n) => n.op === 'slice' || n.op === 'concat')).toBe(false);
    expect(full.nodes.length).toBe(compile(model, 1, null).nodes.length);
    // batch statistics couple the samples: the split stops at the first training-mode BN (only
    // the conv before it is split), and 'auto' sees that this saves nothing
    const coupled = cnn(true);
    const cloned = compile(coupled, 4).nodes.filter((n) => n.name.includes('[')).map((n) => n.op);
    expect(cloned.sort()).toEqual(['concat', ...Array(4).fill('conv2d'), ...Array(4).fill('slice')]);
    expect(compile(coupled, 'auto').nodes.some((n) => n.op === 'slice')).toBe(false);
  });
});
