/**
 * The default main job (`npm start`): compiles one static training step for a small built-in
 * CNN and trains it, printing the loss per step and writing the loss curve as SVG.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { GraphBuilder, compileTraining, nn, rng, tensor, type Tensor } from '@pockengine/core';
import { CpuBackend } from '@pockengine/backend-cpu';
import { lineChartSvg } from '../chart.js';

/** 12x12 images of a horizontal (0), vertical (1) or diagonal (2) bar, with noise. */
export function barsDataset(n: number, seed: number): { x: Tensor; y: Tensor } {
  const S = 12;
  const r = rng(seed);
  const x = new Float32Array(n * S * S);
  const y = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    const cls = i % 3;
    const pos = 2 + Math.floor(r() * (S - 4));
    for (let j = 0; j < S; j++) {
      const [h, w] = cls === 0 ? [pos, j] : cls === 1 ? [j, pos] : [j, j];
      x[i * S * S + h * S + w] = 1;
    }
    for (let k = 0; k < S * S; k++) x[i * S * S + k]! += 0.2 * (r() - 0.5);
    y[i] = BigInt(cls);
  }
  return { x: tensor('float32', [n, 1, S, S], x), y: tensor('int64', [n], y) };
}

export function buildDemoCnn(batch: number) {
  const b = new GraphBuilder('demo_cnn');
  const x = b.input('image', 'float32', [batch, 1, 12, 12]);
  let h = nn.relu(b, nn.batchNorm(b, nn.conv2d(b, x, 8, 'conv1', { seed: 11 }), 'bn1', true));
  h = nn.relu(b, nn.conv2d(b, h, 16, 'conv2', { stride: 2, seed: 12 }));
  h = nn.relu(b, nn.conv2d(b, h, 16, 'conv3', { stride: 2, seed: 13 }));
  b.output('logits', nn.dense(b, nn.globalAvgPool(b, h), 3, 'head', { seed: 14 }));
  return b.build();
}

export async function demo(args: { steps?: number; out?: string }): Promise<void> {
  const steps = args.steps ?? 40;
  const batch = 24;
  const model = buildDemoCnn(batch);
  const params = model.values.filter((v) => v.role === 'param');
  const nParams = params.reduce((s, v) => s + v.shape.reduce((a, d) => a * d, 1), 0);
  console.log(`pockengine demo: built-in CNN (${params.length} parameter tensors, ${nParams} weights), batch ${batch}`);
  const t0 = performance.now();
  const prog = compileTraining(model, { loss: { kind: 'cross-entropy' }, optimizer: { kind: 'adam', lr: 0.02 } }, new CpuBackend());
  const nRun = prog.plan.steps.filter((s) => s.kind === 'run').length;
  console.log(`compiled one static training step: ${nRun} ops (forward + backward + Adam) in ${(performance.now() - t0).toFixed(0)} ms`);
  const data = barsDataset(batch, 1);
  const losses: number[] = [];
  const times: number[] = [];
  for (let s = 1; s <= steps; s++) {
    const ts = performance.now();
    const out = await prog.step({ image: data.x, labels: data.y });
    times.push(performance.now() - ts);
    const loss = Number(out.loss!.data[0]);
    losses.push(loss);
    console.log(`step ${String(s).padStart(3)}  loss ${loss.toFixed(4)}  ${times.at(-1)!.toFixed(1)} ms`);
  }
  const sorted = [...times].sort((a, b) => a - b);
  console.log(`loss ${losses[0]!.toFixed(4)} -> ${losses.at(-1)!.toFixed(4)}; median step ${sorted[sorted.length >> 1]!.toFixed(1)} ms`);
  const out = args.out ?? 'out/demo-loss.svg';
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, lineChartSvg('pockengine demo: training loss', [{ name: 'demo CNN (Adam)', values: losses }]));
  console.log(`loss curve written to ${out}`);
}
