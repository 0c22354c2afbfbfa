/**
 * QDQ models (QuantizeLinear / DequantizeLinear): the forward pass against onnxruntime running the
 * same file (per-tensor uint8 activations, per-channel int8 weights, int32 biases), the
 * straight-through gradient of fake quantization against its definition, and training then export:
 * the trained weights go back into their int8 initializers, and onnxruntime on the exported file
 * computes what PockEngine computes.
 */
import { CpuBackend } from '@pockengine/backend-cpu';
import { Program, compileTrainingGraph, roundHalfEven, tensor, type Tensor } from '@pockengine/core';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { exportOnnx, importOnnx } from '../src/index.js';
import { buildModel, node, type ModelSpec } from './build.js';
import { values } from './handler-helpers.js';

const require = createRequire(import.meta.url);
let ort: typeof import('onnxruntime-node') | undefined;
try {
  ort = require('onnxruntime-node') as typeof import('onnxruntime-node');
} catch {
  ort = undefined;
}

const f32 = (shape: number[], data: number[]) => tensor('float32', shape, data);

/** x -> QDQ (uint8) -> Conv(DQ(int8 per-channel weight), DQ(int32 bias)) -> Relu -> QDQ (int8) -> mean over H, W. */
function qdqConv(): ModelSpec {
  const sx = 0.05;
  const sw = [0.02, 0.03, 0.025, 0.04];
  const wq = values(4 * 3 * 9, 31, -100, 100).map(Math.round);
  const bq = values(4, 32, -400, 400).map(Math.round);
  return {
    nodes: [
      node('QuantizeLinear', ['x', 'sx', 'zx'], ['xq']),
      node('DequantizeLinear', ['xq', 'sx', 'zx'], ['xd']),
      node('DequantizeLinear', ['wq', 'sw', 'zw'], ['conv.weight_dq'], { axis: 0 }),
      node('DequantizeLinear', ['bq', 'sb'], ['conv.bias_dq'], { axis: 0 }),
      node('Conv', ['xd', 'conv.weight_dq', 'conv.bias_dq'], ['c'], { pads: [1, 1, 1, 1] }),
      node('Relu', ['c'], ['r']),
      node('QuantizeLinear', ['r', 'sy', 'zy'], ['rq']),
      node('DequantizeLinear', ['rq', 'sy', 'zy'], ['rd']),
      node('ReduceMean', ['rd'], ['y'], { axes: [2, 3], keepdims: 0 }),
    ],
    inputs: [['x', 'float32', [2, 3, 5, 5]]],
    outputs: ['y'],
    initializers: [
      ['sx', f32([], [sx])],
      ['zx', tensor('uint8', [], [128])],
      ['wq', tensor('int8', [4, 3, 3, 3], wq)],
      ['sw', f32([4], sw)],
      ['zw', tensor('int8', [4], [0, 0, 0, 0])],
      ['bq', tensor('int32', [4], bq)],
      ['sb', f32([4], sw.map((s) => Math.fround(s * sx)))],
      ['sy', f32([], [0.01])],
      ['zy', tensor('int8', [], [-5])],
    ],
    opset: 13,
  };
}

async function ours(bytes: Uint8Array, x: Tensor, weights?: Map<string, Tensor>): Promise<number[]> {
  const p = Program.create(importOnnx(bytes).graph, new CpuBackend());
  if (weights) p.setWeights(weights);
  const y = (await p.step({ x })).y!;
  p.dispose();
  return Array.from(y.data as Float32Array);
}

async function theirs(bytes: Uint8Array, x: Tensor): Promise<number[]> {
  const s = await ort!.InferenceSession.create(bytes, { graphOptimizationLevel: 'disabled' });
  const out = await s.run({ x: new ort!.Tensor('float32', Float32Array.from(x.data as Float32Array), [...x.shape]) });
  return Array.from(out.y!.data as Float32Array);
}

const maxDiff = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));

describe('QDQ models', () => {
  const x = f32([2, 3, 5, 5], values(150, 33, -3, 3));

  it.skipIf(!ort)('the forward pass matches onnxruntime (uint8 / int8 activations, per-channel int8 weights, int32 biases)', async () => {
    const bytes = buildModel(qdqConv());
    const a = await ours(bytes, x);
    const b = await theirs(bytes, x);
    expect(a.length).toBe(8);
    expect(maxDiff(a, b)).toBeLessThan(1e-6);
  });

  it('dequantized initializers import as trainable params named after the DQ output; activations have no params', () => {
    const m = importOnnx(buildModel(qdqConv()));
    expect(m.params.sort()).toEqual(['conv.bias_dq', 'conv.weight_dq']);
  });

  it('fake quantization passes the gradient straight through where it does not saturate', async () => {
    // y = DQ(Q(x * w)), loss = mean((y - t)^2): dL/dw_i = 2 (y_i - t_i) / n * [q_i in range] * x_i
    const n = 12;
    const xs = values(n, 34, -4, 4);
    const w = values(n, 35, 0.5, 1.5);
    const t = values(n, 36, -1, 1);
    const spec: ModelSpec = {
      nodes: [node('Mul', ['x', 'w'], ['p']), node('QuantizeLinear', ['p', 's', 'z'], ['q']), node('DequantizeLinear', ['q', 's', 'z'], ['y'])],
      inputs: [['x', 'float32', [n]]],
      outputs: ['y'],
      initializers: [['w', f32([n], w)], ['s', f32([], [0.02])], ['z', tensor('int8', [], [10])]],
      opset: 13,
    };
    const m = importOnnx(buildModel(spec), { floatType: 'float64' });
    const { graph } = compileTrainingGraph(m.graph, { loss: { kind: 'mse' } });
    const p = Program.create(graph, new CpuBackend());
    const out = await p.step({ x: tensor('float64', [n], xs), labels: tensor('float64', [n], t) });
    p.dispose();
    const s = Math.fround(0.02);
    const want = xs.map((xi, i) => {
      const v = xi * w[i]!;
      const r = roundHalfEven(v / s) + 10;
      const y = (Math.min(127, Math.max(-128, r)) - 10) * s;
      return r >= -128 && r <= 127 ? ((2 * (y - t[i]!)) / n) * xi : 0;
    });
    const got = Array.from(out['grad.w']!.data as Float64Array);
    expect(maxDiff(got, want)).toBeLessThan(1e-12);
    // some elements saturate, some do not: both branches are exercised
    expect(want.filter((v) => v === 0).length).toBeGreaterThan(0);
    expect(want.filter((v) => v !== 0).length).toBeGreaterThan(0);
  });

  it.skipIf(!ort)('after training, export re-quantizes the weights into their initializers and onnxruntime agrees', async () => {
    const bytes = buildModel(qdqConv());
    const m = importOnnx(bytes);
    const { graph } = compileTrainingGraph(m.graph, { loss: { kind: 'mse' }, optimizer: { kind: 'sgd', lr: 0.5 } });
    const p = Program.create(graph, new CpuBackend());
    const target = f32([2, 4], values(8, 37, 0, 1));
    for (let i = 0; i < 3; i++) await p.step({ x, labels: target });
    const trained = new Map((await Promise.all(m.params.map(async (n) => [n, await p.read(n)] as const))).values());
    p.dispose();
    const before = await ours(bytes, x);
    const after = await ours(bytes, x, trained);
    expect(maxDiff(before, after)).toBeGreaterThan(1e-3); // training moved the quantized weights
    const exported = exportOnnx(bytes, trained);
    const re = importOnnx(exported);
    const wq = re.graph.values.find((v) => v.name === 'conv.weight_dq')!;
    // the re-imported float weight holds exactly the re-quantized grid values
    const stored = Array.from(re.graph.init.get(wq.id)!.data as Float32Array);
    const sw = [0.02, 0.03, 0.025, 0.04].map(Math.fround);
    stored.forEach((v, i) => expect(Math.abs(v / sw[Math.floor(i / 27)]! - Math.round(v / sw[Math.floor(i / 27)]!))).toBeLessThan(1e-4));
    expect(maxDiff(await theirs(exported, x), after)).toBeLessThan(1e-6);
  });
});

