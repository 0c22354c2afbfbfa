/**
 * Conformance of the fast batch_norm and batch_norm_grad kernels against the reference kernels
 * on every engine (the threaded one splits any problem into channel ranges): training and eval
 * mode, each fused activation, runs of every length class (inner = 1, below 4, not a multiple of
 * 4 or 16, exactly 16, spanning several blocks of the float64-flushed sums), 2-D to 5-D, tiny
 * and MobileNet-sized. Inputs are offset from zero so the mean subtraction matters.
 */
import { batchNormDims, type BatchNormAttrs } from '@pockengine/core';
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
