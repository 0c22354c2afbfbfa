/**
 * Smoke tests of the benchmark's own machinery (no timing assertions): the IR -> TF.js
 * interpreter computes the same logits as our CPU backend, and the report writer turns a results
 * object into tables, targets and charts.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { CpuBackend } from '@pockengine/backend-cpu';
import { Program } from '@pockengine/core';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MODEL_OPTIONS, fixedScheme, loadModel, syntheticBatch, trainableOf } from '../src/models.js';
import { htmlReport, markdownReport, targets, textReport, type BenchResults } from '../src/report.js';
import { TfGraph } from '../src/tfjs-interpreter.js';
import type { RunResult } from '../src/types.js';

describe('IR -> TF.js interpreter', () => {
  it('runs mcunet_tiny forward with the logits of our CPU backend', async () => {
    await tf.setBackend('cpu');
    const g = loadModel('mcunet_tiny', { ...DEFAULT_MODEL_OPTIONS, res: 64, batch: 2 });
    const feeds = syntheticBatch(g);
    const ours = (await Program.create(g, new CpuBackend()).step(feeds)).logits!.data as Float32Array;
    const model = new TfGraph(tf, g, { trainable: new Set() });
    const inputs = model.feeds(feeds);
    const logits = tf.tidy(() => model.forward(inputs).logits!);
    expect(logits.shape).toEqual([2, 10]);
    const theirs = logits.dataSync();
    const scale = Math.max(...Array.from(ours, Math.abs));
    for (let i = 0; i < ours.length; i++) expect(Math.abs(theirs[i]! - ours[i]!)).toBeLessThanOrEqual(1e-4 * scale + 1e-6);
    logits.dispose();
    model.dispose();
  });

  it('lists the backward kernels a trainable set needs (what tfjs-backend-wasm lacks)', () => {
    const g = loadModel('mcunet_tiny', { ...DEFAULT_MODEL_OPTIONS, res: 32, batch: 1 });
    const kernels = (config: 'full' | 'bias-last-half') => {
      const m = new TfGraph(tf, g, { trainable: new Set(trainableOf(g, fixedScheme(g, config)).names) });
      const k = new Set(m.gradKernels().map((u) => u.kernel));
      m.dispose();
      return k;
    };
    const full = kernels('full');
    expect(full).toContain('Conv2DBackpropFilter');
    expect(full).toContain('DepthwiseConv2dNativeBackpropFilter');
    const biases = kernels('bias-last-half');
    expect(biases).toContain('DepthwiseConv2dNativeBackpropInput');
    expect(biases).not.toContain('Conv2DBackpropFilter');
  });
});

describe('report', () => {
  const run = (r: Partial<RunResult> & Pick<RunResult, 'framework' | 'config'>): RunResult => ({ model: 'mcunet', status: 'ok', stepMs: [1, 1, 1], ...r });
  const fake: BenchResults = {
    meta: { date: '2025-01-01T00:00:00Z', machine: 'test CPU x2', node: 'v20', args: ['--models', 'mcunet'], notes: ['a note'] },
    runs: [
      run({ framework: 'ours', config: 'full', medianMs: 100, minMs: 90, peakBytes: 10 * 2 ** 20, plannedPeakBytes: 10 * 2 ** 20 }),
      run({ framework: 'tfjs-cpu', config: 'full', medianMs: 2000, minMs: 2000, peakBytes: 50 * 2 ** 20 }),
      run({ framework: 'tfjs-wasm', config: 'full', status: 'cannot-train', note: 'cannot train: missing kernels Conv2DBackpropFilter' }),
      run({ framework: 'ours', config: 'sparse', medianMs: 50, peakBytes: 2 * 2 ** 20 }),
      run({ framework: 'tfjs-cpu', config: 'sparse', medianMs: 1000, peakBytes: 30 * 2 ** 20 }),
      run({ framework: 'ours', config: 'budget', medianMs: 40, peakBytes: 2 ** 20, measuredPeakBytes: 2 ** 20, budgetBytes: 2 * 2 ** 20, budgetPass: true }),
    ],
  };

  it('writes a table per model with ratios against ours', () => {
    const md = markdownReport(fake);
    expect(md).toContain('## mcunet');
    expect(md).toContain('| framework | config | status |');
    expect(md).toMatch(/\| tfjs-cpu \| full \| ok \(3 steps\) \|.*\| 20\.0x \|.*\| 5\.0x \|/);
    expect(md).toContain('cannot train: missing kernels Conv2DBackpropFilter');
    expect(textReport(fake)).toContain('== mcunet');
  });

  it('evaluates the targets from the same numbers', () => {
    const t = new Map(targets(fake).map((x) => [x.target.split(' ')[0] + ' ' + x.target.split(' ')[1], x]));
    // issue 4 states its memory targets for MobileNetV2: for mcunet they are shown as information
    expect(t.get('sparse peak')).toMatchObject({ value: 15, pass: true, info: true });
    expect(t.get('full peak')).toMatchObject({ value: 5, pass: true, info: true });
    expect(markdownReport(fake)).toMatch(/\| mcunet \| sparse peak >= 10x below TF\.js \(same trainable set\) \| 15\.00 \| 10 \| info \|/);
    const onMobileNet = targets({ ...fake, runs: fake.runs.map((r) => ({ ...r, model: 'mobilenet_v2' as const })) });
    expect(onMobileNet.find((x) => x.target.startsWith('sparse peak'))).toMatchObject({ value: 15, pass: true });
    expect(onMobileNet.find((x) => x.target.startsWith('sparse peak'))!.info).toBeUndefined();
    expect(t.get('full backprop')).toMatchObject({ value: 20, pass: true });
    expect(t.get('sparse >=')).toMatchObject({ value: 20, pass: false });
    expect(t.get('budgeted run')).toMatchObject({ pass: true });
  });

  it('renders HTML with inline SVG charts', () => {
    const html = htmlReport(fake);
    expect(html.match(/<svg /g)?.length).toBe(2);
    expect(html).toContain('<table>');
  });
});
