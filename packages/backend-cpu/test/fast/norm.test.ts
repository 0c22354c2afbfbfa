/**
 * Conformance of the fast batch_norm, layer_norm and their backward kernels against the reference kernels
 * on every engine (the threaded one splits any problem into channel ranges): training and eval
 * mode, each fused activation, runs of every length class (inner = 1, below 4, not a multiple of
 * 4 or 16, exactly 16, spanning several blocks of the float64-flushed sums), 2-D to 5-D, tiny
 * and MobileNet-sized. Inputs are offset from zero so the mean subtraction matters.
 */
import { batchNormDims, layerNormDims, layerNormStatShape, type BatchNormAttrs, type LayerNormAttrs } from '@pockengine/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFastKernels } from '../../src/fast/index.js';
import { normKernels } from '../../src/kernels/norm.js';
import type { CpuTensor } from '../../src/tensor.js';
import { counting } from './counting.js';
import { disposeAll, empty, engines, expectClose, rand, type EngineCase } from './helpers.js';

const SHAPES: number[][] = [
  [1, 1, 1, 1],
  [4, 6],
  [3, 5, 2],
  [2, 3, 5, 7],
  [3, 5, 4, 4],
  [5, 7, 3, 3],
  [2, 6, 13],
  [2, 3, 2, 3, 5],
  [2, 5, 20, 15],
  [8, 32, 12, 12],
  [8, 16, 48, 48],
];

const ACTIVATIONS = [null, 'relu', 'relu6'] as const;

/** x around 3 (so the mean is not ~0), scales up to 4 (so relu6 clips), positive running variances. */
function operands(shape: number[]) {
  const c = shape[1]!;
  const map = (t: CpuTensor, f: (v: number) => number) => (t.data.forEach((v, i) => (t.data[i] = f(v))), t);
  return {
    x: map(rand(shape, 31), (v) => 3 + v),
    scale: map(rand([c], 32), (v) => 4 * v),
    bias: rand([c], 33),
    runMean: map(rand([c], 34), (v) => 3 + 0.5 * v),
    runVar: map(rand([c], 35), (v) => 0.2 + Math.abs(v)),
    dy: rand(shape, 36),
  };
}

/**
 * Tolerances (|got - want| / (1 + |want|), see expectClose): elementwise results go through a
 * handful of float32 roundings (4 terms); sums over a channel run in float32 chains of 16 terms
 * whose partial results are added in float64, so their error relative to the result's magnitude
 * does not grow with n (64 terms); statistics are float64 rounded once (1 term).
 */
const ELEMENTWISE = 4;
const CHANNEL_SUM = 64;
const ROUNDED = 1;

describe('fast batch norm kernels match the reference kernels', () => {
  let cases: EngineCase[] = [];
  beforeAll(async () => {
    cases = await engines();
  });
  afterAll(() => disposeAll(cases));

  it('runs on the vector primitives of the WASM engines', () => {
    for (const { name, engine } of cases) expect(engine.vector !== undefined, name).toBe(name !== 'js');
  });

  for (const shape of SHAPES)
    for (const training of [true, false])
      for (const activation of ACTIVATIONS)
        it(`batch_norm ${shape.join('x')} ${training ? 'training' : 'eval'}${activation ? ` + ${activation}` : ''}`, () => {
          const { x, scale, bias, runMean, runVar } = operands(shape);
          const c = batchNormDims(shape).channels;
          const attrs: BatchNormAttrs = { epsilon: 1e-5, training, activation };
          const outputs = () => (training ? [empty(shape), empty([c]), empty([c])] : [empty(shape)]);
          const want = outputs();
          normKernels.batch_norm([x, scale, bias, runMean, runVar], want, attrs);
          for (const { name, engine: e } of cases) {
            const { engine, calls } = counting(e);
            const got = outputs();
            createFastKernels(() => engine).batch_norm([x, scale, bias, runMean, runVar], got, attrs);
            expect(calls.get('batchNorm') ?? 0, `${name} used the fast kernel`).toBe(e.vector ? 1 : 0);
            expectClose(got[0]!.data, want[0]!.data, ELEMENTWISE, `${name} y`);
            if (training) {
              expectClose(got[1]!.data, want[1]!.data, ROUNDED, `${name} mean`);
              expectClose(got[2]!.data, want[2]!.data, ROUNDED, `${name} variance`);
            }
          }
        });

  for (const shape of SHAPES)
    for (const training of [true, false])
      it(`batch_norm_grad ${shape.join('x')} ${training ? 'training' : 'eval'}`, () => {
        const { x, scale, bias, runMean, runVar, dy } = operands(shape);
        const c = batchNormDims(shape).channels;
        const attrs: BatchNormAttrs = { epsilon: 1e-5, training };
        // the statistics the forward used: the batch's in training mode, the running ones in eval mode
        const stats = [empty(shape), empty([c]), empty([c])];
        if (training) normKernels.batch_norm([x, scale, bias, runMean, runVar], stats, attrs);
        const inputs = training ? [x, scale, stats[1]!, stats[2]!, dy] : [x, scale, runMean, runVar, dy];
        const outputs = () => [empty(shape), empty([c]), empty([c])];
        const want = outputs();
        normKernels.batch_norm_grad(inputs, want, attrs);
        for (const { name, engine: e } of cases) {
          const { engine, calls } = counting(e);
          const got = outputs();
          createFastKernels(() => engine).batch_norm_grad(inputs, got, attrs);
          expect(calls.get('batchNormGrad') ?? 0, `${name} used the fast kernel`).toBe(e.vector ? 1 : 0);
          expectClose(got[0]!.data, want[0]!.data, ELEMENTWISE, `${name} dx`);
          expectClose(got[1]!.data, want[1]!.data, CHANNEL_SUM, `${name} dscale`);
          expectClose(got[2]!.data, want[2]!.data, CHANNEL_SUM, `${name} dbias`);
        }
      });

  it('defers float64 to the reference kernel', () => {
    const shape = [2, 3, 4];
    const { x, scale, bias, runMean, runVar } = operands(shape);
    const f64 = (t: CpuTensor): CpuTensor => ({ dtype: 'float64', shape: t.shape, data: Float64Array.from(t.data) });
    const inputs = [x, scale, bias, runMean, runVar].map(f64);
    const attrs: BatchNormAttrs = { epsilon: 1e-5, training: true };
    const outputs = () => [empty(shape, 'float64'), empty([3], 'float64'), empty([3], 'float64')];
    const want = outputs();
    normKernels.batch_norm(inputs, want, attrs);
    for (const { name, engine: e } of cases) {
      const { engine, calls } = counting(e);
      const got = outputs();
      createFastKernels(() => engine).batch_norm(inputs, got, attrs);
      expect(calls.size, name).toBe(0);
      got.forEach((t, i) => expect(t.data, name).toEqual(want[i]!.data));
    }
  });
});

/**
 * Layer norm over the trailing axes from `axis` ([rows, d] of core's layerNormDims): d of every
 * length class (1, below 4, not a multiple of 4 or 16, 16, several flushed sum blocks), BERT's
 * [4, 32, 256] and a 4-D input normalized over its last two axes; with and without a bias.
 * dscale and dbias sum over the rows (in float64 per thread, then across threads).
 */
const LAYER_CASES: [number[], number][] = [
  [[1, 1], 1],
  [[3, 3], 1],
  [[5, 7], -1],
  [[2, 3, 16], 2],
  [[4, 33], 1],
  [[4, 32, 256], -1],
  [[2, 5, 6, 7], 2],
  [[3, 1100], 1],
  [[70, 19], 1],
];

describe('fast layer norm kernels match the reference kernels', () => {
  let cases: EngineCase[] = [];
  beforeAll(async () => {
    cases = await engines();
  });
  afterAll(() => disposeAll(cases));

  const map = (t: CpuTensor, f: (v: number) => number) => (t.data.forEach((v, i) => (t.data[i] = f(v))), t);
  for (const [shape, given] of LAYER_CASES)
    for (const withBias of [true, false])
      it(`layer_norm and layer_norm_grad ${shape.join('x')} axis ${given}${withBias ? '' : ' (no bias)'}`, () => {
        // the op's attribute is the non-negative axis (core normalizes ONNX's -1)
        const axis = (given + shape.length) % shape.length;
        const { d } = layerNormDims(shape, axis);
        const norm = shape.slice(axis);
        const statShape = layerNormStatShape(shape, axis);
        const x = map(rand(shape, 41), (v) => 2 + 3 * v);
        const scale = map(rand(norm, 42), (v) => 1 + v);
        const bias = rand(norm, 43);
        const dy = rand(shape, 44);
        const attrs: LayerNormAttrs = { axis, epsilon: 1e-5 };
        const inputs = withBias ? [x, scale, bias] : [x, scale];
        const fwd = () => [empty(shape), empty(statShape), empty(statShape)];
        const want = fwd();
        normKernels.layer_norm(inputs, want, attrs);
        const gradIn = [x, scale, want[1]!, want[2]!, dy];
        const bwd = () => [empty(shape), empty(norm), empty(norm)];
        const wantGrad = bwd();
        normKernels.layer_norm_grad(gradIn, wantGrad, attrs);
        expect(d).toBe(norm.reduce((a, b) => a * b, 1));
        for (const { name, engine: e } of cases) {
          const { engine, calls } = counting(e);
          const kernels = createFastKernels(() => engine);
          const got = fwd();
          kernels.layer_norm(inputs, got, attrs);
          expect(calls.get('layerNorm') ?? 0, `${name} used the fast kernel`).toBe(e.vector ? 1 : 0);
          expectClose(got[0]!.data, want[0]!.data, ELEMENTWISE, `${name} y`);
          expectClose(got[1]!.data, want[1]!.data, ROUNDED, `${name} mean`);
          expectClose(got[2]!.data, want[2]!.data, ROUNDED, `${name} invStd`);
          const gotGrad = bwd();
          gotGrad.forEach((t) => t.data.fill(NaN));
          kernels.layer_norm_grad(gradIn, gotGrad, attrs);
          expect(calls.get('layerNormGrad') ?? 0, `${name} used the fast kernel`).toBe(e.vector ? 1 : 0);
          // dx: a few float32 roundings, as batch_norm_grad's
          expectClose(gotGrad[0]!.data, wantGrad[0]!.data, ELEMENTWISE, `${name} dx`);
          // column sums over the rows: the fast kernel's terms are float32 products (a few ulps off each),
          // and the reference accumulates into its float32 outputs (one rounding per row), so the
          // channel-sum tolerance of batch_norm_grad
          expectClose(gotGrad[1]!.data, wantGrad[1]!.data, CHANNEL_SUM, `${name} dscale`);
          expectClose(gotGrad[2]!.data, wantGrad[2]!.data, CHANNEL_SUM, `${name} dbias`);
        }
      });
});
