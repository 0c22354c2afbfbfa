/**
 * End to end: models written with the graph-builder API are compiled into one static training
 * step (forward, loss, backward, optimizer) and trained on the CPU backend until the loss falls
 * far below where it started.
 */
import { GraphBuilder, PockError, compileTraining, nn, rng, tensor, type Tensor } from '@pockengine/core';
import { describe, expect, it } from 'vitest';
import { CPU_KERNELS, CpuBackend } from '../src/index.js';

/** Three Gaussian blobs in 2-D, labels 0..2. */
function blobs(n: number, seed: number): { x: Tensor; y: Tensor } {
  const r = rng(seed);
  const centers = [[2, 0], [-1, 1.7], [-1, -1.7]];
  const x = new Float32Array(n * 2);
  const y = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    x[2 * i] = centers[c]![0]! + (r() - 0.5);
    x[2 * i + 1] = centers[c]![1]! + (r() - 0.5);
    y[i] = BigInt(c);
  }
  return { x: tensor('float32', [n, 2], x), y: tensor('int64', [n], y) };
}

/** 8x8 single-channel images of a horizontal (0) or vertical (1) bar at a random position. */
function bars(n: number, seed: number): { x: Tensor; y: Tensor } {
  const r = rng(seed);
  const x = new Float32Array(n * 64);
  const y = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    const vertical = i % 2;
    const pos = Math.floor(r() * 8);
    for (let j = 0; j < 8; j++) {
      const [h, w] = vertical ? [j, pos] : [pos, j];
      x[i * 64 + h * 8 + w] = 1;
    }
    for (let k = 0; k < 64; k++) x[i * 64 + k]! += 0.1 * (r() - 0.5);
    y[i] = BigInt(vertical);
  }
  return { x: tensor('float32', [n, 1, 8, 8], x), y: tensor('int64', [n], y) };
}

describe('end-to-end training', () => {
  it('trains an MLP with SGD+momentum until the loss is far below its start', async () => {
    const b = new GraphBuilder('mlp');
    const x = b.input('x', 'float32', [30, 2]);
    const h = nn.dense(b, x, 16, 'fc1', { activation: 'relu', seed: 1 });
    b.output('logits', nn.dense(b, h, 3, 'fc2', { seed: 2 }));
    const prog = compileTraining(b.build(), { loss: { kind: 'cross-entropy' }, optimizer: { kind: 'sgd', lr: 0.1, momentum: 0.9 } }, new CpuBackend());
    const data = blobs(30, 3);
    const losses: number[] = [];
    for (let s = 0; s < 60; s++) losses.push(Number((await prog.step({ x: data.x, labels: data.y })).loss!.data[0]));
    expect(losses[0]).toBeGreaterThan(0.5);
    expect(losses.at(-1)!).toBeLessThan(0.1 * losses[0]!);
  });

  it('trains a small CNN with BatchNorm and Adam until the loss is far below its start', async () => {
    const b = new GraphBuilder('cnn');
    const x = b.input('x', 'float32', [16, 1, 8, 8]);
    let h = nn.conv2d(b, x, 4, 'conv1', { kernel: 3, seed: 4 });
    h = nn.relu(b, nn.batchNorm(b, h, 'bn1', true));
    h = nn.conv2d(b, h, 8, 'conv2', { kernel: 3, stride: 2, seed: 5 });
    h = nn.relu(b, h);
    b.output('logits', nn.dense(b, nn.globalAvgPool(b, h), 2, 'head', { seed: 6 }));
    const prog = compileTraining(b.build(), { loss: { kind: 'cross-entropy' }, optimizer: { kind: 'adam', lr: 0.03 } }, new CpuBackend());
    const data = bars(16, 7);
    const losses: number[] = [];
    for (let s = 0; s < 60; s++) losses.push(Number((await prog.step({ x: data.x, labels: data.y })).loss!.data[0]));
    expect(losses.at(-1)!).toBeLessThan(0.2 * losses[0]!);
  });
});

describe('program binding', () => {
  it('lists every missing kernel at once before running anything', () => {
    const b = new GraphBuilder('mlp');
    const x = b.input('x', 'float32', [4, 2]);
    const h = nn.dense(b, x, 3, 'fc1', { activation: 'relu', seed: 1 });
    b.output('logits', nn.dense(b, h, 2, 'fc2', { seed: 2 }));
    const { matmul: _m, relu: _r, ...partial } = CPU_KERNELS;
    const run = () => compileTraining(b.build(), { loss: { kind: 'cross-entropy' }, optimizer: { kind: 'sgd', lr: 0.1 } }, new CpuBackend(partial));
    expect(run).toThrow(PockError);
    try {
      run();
    } catch (e) {
      const msg = (e as PockError).message;
      expect((e as PockError).code).toBe('unsupported-kernel');
      // forward and backward matmuls and the relu, all in one message
      expect(msg).toContain("matmul(float32[4,2], float32[3,2]) at 'fc1'");
      expect(msg).toContain("relu(float32[4,3]) at 'fc1'");
      expect(msg).toMatch(/matmul\(.*\) at 'grad\(fc2\)'/);
    }
  });

  it('starts from the configured learning rate and lets it change without recompiling', async () => {
    const b = new GraphBuilder('lin');
    const x = b.input('x', 'float64', [2, 2]);
    b.output('logits', nn.dense(b, x, 2, 'fc', { seed: 3 }));
    const prog = compileTraining(b.build(), { loss: { kind: 'cross-entropy' }, optimizer: { kind: 'sgd', lr: 0.25 } }, new CpuBackend());
    expect(prog.lr).toBe(0.25);
    prog.lr = 0;
    const w0 = (await prog.read('fc.weight')).data.slice();
    await prog.step({ x: tensor('float64', [2, 2], [1, 2, 3, 4]), labels: tensor('int64', [2], [0, 1]) });
    expect(Array.from((await prog.read('fc.weight')).data as Float64Array)).toEqual(Array.from(w0 as Float64Array));
  });
});
