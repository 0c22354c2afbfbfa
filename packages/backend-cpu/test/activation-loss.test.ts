/**
 * Forward values of the activation, loss and dropout kernels against independent references:
 * published constants (erf / gelu values as computed by CPython's math.erf and PyTorch), naive
 * formulas written out here, and the statistical and determinism properties of dropout.
 */
import {
  GraphBuilder,
  PockError,
  Program,
  dropoutKeep,
  tensor,
  type AttrsOf,
  type OpName,
  type Tensor,
} from '@pockengine/core';
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../src/index.js';
import { erf } from '../src/kernels/activation.js';

/** Runs one op on the CPU backend through the whole pipeline (infer, plan, program). */
async function run<K extends OpName>(op: K, inputs: readonly Tensor[], attrs: AttrsOf<K>): Promise<Float64Array[]> {
  const b = new GraphBuilder(`t_${op}`);
  const ins = inputs.map((t, i) => b.input(`x${i}`, t.dtype, t.shape));
  const outs = b.op(op, ins, attrs);
  outs.forEach((o, k) => b.output(`y${k}`, o));
  const feeds = Object.fromEntries(inputs.map((t, i) => [`x${i}`, t]));
  const res = await Program.create(b.build(), new CpuBackend()).step(feeds);
  return outs.map((_, k) => Float64Array.from(res[`y${k}`]!.data as ArrayLike<number>));
}

const f64 = (shape: number[], values: number[]) => tensor('float64', shape, values);
const expectClose = (got: ArrayLike<number>, want: ArrayLike<number>, tol: number) => {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!), `element ${i}: ${got[i]} vs ${want[i]}`).toBeLessThanOrEqual(tol);
};

describe('activations', () => {
  it('erf matches reference values (CPython math.erf)', () => {
    const ref: [number, number][] = [
      [0.1, 0.1124629160182849], [0.5, 0.5204998778130465], [1, 0.8427007929497149], [1.5, 0.9661051464753108],
      [2, 0.9953222650189527], [2.9, 0.9999589021219005], [3, 0.9999779095030014], [3.5, 0.9999992569016276],
      [4.5, 0.9999999998033839], [5, 0.9999999999984626], [6, 1],
    ];
    for (const [x, e] of ref) {
      expect(Math.abs(erf(x) - e), `erf(${x})`).toBeLessThan(2e-16 * 4);
      expect(erf(-x)).toBe(-erf(x));
    }
    expect(erf(0)).toBe(0);
    expect(erf(Infinity)).toBe(1);
  });

  it('gelu, both forms, matches known values (float64 and float32)', async () => {
    const x = [1, -1, 2, -3, 0.5];
    const exact = [0.8413447460685429, -0.15865525393145707, 1.9544997361036416, -0.00404969409489031, 0.34573123063700656];
    const tanhForm = [0.8411919906082768, -0.15880800939172324, 1.954597694087775, -0.0036373920817729943, 0.34571400982514394];
    expectClose((await run('gelu', [f64([5], x)], { approximate: 'none' }))[0]!, exact, 1e-15);
    expectClose((await run('gelu', [f64([5], x)], { approximate: 'tanh' }))[0]!, tanhForm, 1e-15);
    const x32 = tensor('float32', [5], x);
    expectClose((await run('gelu', [x32], { approximate: 'none' }))[0]!, exact, 1e-6);
    expectClose((await run('gelu', [x32], { approximate: 'tanh' }))[0]!, tanhForm, 1e-6);
  });

  it('relu, clip and leaky_relu follow their definitions', async () => {
    const x = f64([6], [-2, -0.5, 0, 0.5, 3, 7]);
    expectClose((await run('relu', [x], {}))[0]!, [0, 0, 0, 0.5, 3, 7], 0);
    expectClose((await run('clip', [x], { min: 0, max: 6 }))[0]!, [0, 0, 0, 0.5, 3, 6], 0);
    expectClose((await run('clip', [x], { min: null, max: 1 }))[0]!, [-2, -0.5, 0, 0.5, 1, 1], 0);
    expectClose((await run('clip', [x], { min: null, max: null }))[0]!, [-2, -0.5, 0, 0.5, 3, 7], 0);
    // min > max: every element becomes max (ONNX Clip, torch.clamp)
    expectClose((await run('clip', [x], { min: 2, max: 1 }))[0]!, [1, 1, 1, 1, 1, 1], 0);
    expectClose((await run('leaky_relu', [x], { alpha: 0.1 }))[0]!, [-0.2, -0.05, 0, 0.5, 3, 7], 1e-16);
    // NaN propagates, as PyTorch
    expect(Number.isNaN((await run('relu', [f64([1], [NaN])], {}))[0]![0]!)).toBe(true);
    expect(Number.isNaN((await run('clip', [f64([1], [NaN])], { min: 0, max: 6 }))[0]![0]!)).toBe(true);
  });

  it('sigmoid, tanh, silu and softplus are stable for large |x|', async () => {
    const xs = [-1000, -30, -1, 0, 1, 30, 1000];
    const x = f64([7], xs);
    const sig = xs.map((v) => 1 / (1 + Math.exp(-v)));
    expectClose((await run('sigmoid', [x], {}))[0]!, sig, 1e-16);
    expectClose((await run('tanh', [x], {}))[0]!, xs.map(Math.tanh), 0);
    expectClose((await run('silu', [x], {}))[0]!, xs.map((v, i) => v * sig[i]!), 1e-13);
    const sp = (await run('softplus', [x], {}))[0]!;
    expectClose(sp.slice(2, 5), [Math.log(1 + Math.exp(-1)), Math.log(2), Math.log(1 + Math.E)], 1e-15);
    expect(sp[0]).toBe(0);
    expect(sp[6]).toBe(1000);
    expect(Math.abs(sp[1]! - Math.exp(-30))).toBeLessThan(1e-25);
  });

  it('hard_sigmoid and hard_swish match ONNX formulas', async () => {
    const xs = [-5, -3, -1.5, 0, 1, 2.5, 3, 4];
    const x = f64([8], xs);
    const hs = (v: number, a: number, b: number) => Math.max(0, Math.min(1, a * v + b));
    expectClose((await run('hard_sigmoid', [x], { alpha: 0.2, beta: 0.5 }))[0]!, xs.map((v) => hs(v, 0.2, 0.5)), 1e-16);
    expectClose((await run('hard_swish', [x], {}))[0]!, xs.map((v) => v * hs(v, 1 / 6, 0.5)), 1e-15);
  });

  it('rejects integer inputs and bad attributes at build time', () => {
    const b = new GraphBuilder();
    const i = b.input('i', 'int32', [3]);
    const f = b.input('f', 'float32', [3]);
    expect(() => b.op1('relu', [i], {})).toThrow(/float32 or float64/);
    expect(() => b.op1('gelu', [f], { approximate: 'fast' as never })).toThrow(/approximate/);
  });
});

/** Mean cross-entropy written out naively: -log(exp(x_l) / sum_c exp(x_c)). */
function naiveCe(logits: number[], labels: number[], classes: number, ignore: number | null, reduction: 'mean' | 'sum') {
  let total = 0;
  let n = 0;
  labels.forEach((l, r) => {
    if (l === ignore) return;
    const row = logits.slice(r * classes, (r + 1) * classes);
    const denom = row.reduce((s, v) => s + Math.exp(v), 0);
    total += -Math.log(Math.exp(row[l]!) / denom);
    n++;
  });
  return reduction === 'mean' ? total / n : total;
}

describe('softmax_cross_entropy', () => {
  const logits = Array.from({ length: 30 }, (_, i) => Math.sin(i * 1.7) * 3);
  const labels = [4, 0, 2, 1, 1, 3];

  it('matches a naive log-softmax on [batch, C] and [batch, seq, C]', async () => {
    for (const reduction of ['mean', 'sum'] as const) {
      const want = naiveCe(logits, labels, 5, null, reduction);
      const [a] = await run('softmax_cross_entropy', [f64([6, 5], logits), tensor('int64', [6], labels)], { reduction, ignoreIndex: null });
      const [b] = await run('softmax_cross_entropy', [f64([2, 3, 5], logits), tensor('int32', [2, 3], labels)], { reduction, ignoreIndex: null });
      expect(Math.abs(a![0]! - want)).toBeLessThan(1e-14);
      expect(Math.abs(b![0]! - want)).toBeLessThan(1e-14);
    }
    const [f32] = await run('softmax_cross_entropy', [tensor('float32', [6, 5], logits), tensor('int64', [6], labels)], { reduction: 'mean', ignoreIndex: null });
    expect(Math.abs(f32![0]! - naiveCe(logits, labels, 5, null, 'mean'))).toBeLessThan(1e-5);
  });

  it('averages over non-ignored positions only', async () => {
    const withIgnore = [4, -100, 2, -100, 1, 3];
    const [y] = await run('softmax_cross_entropy', [f64([2, 3, 5], logits), tensor('int64', [2, 3], withIgnore)], { reduction: 'mean', ignoreIndex: -100 });
    expect(Math.abs(y![0]! - naiveCe(logits, withIgnore, 5, -100, 'mean'))).toBeLessThan(1e-14);
    // every position ignored: 0/0 = NaN, as PyTorch
    const [none] = await run('softmax_cross_entropy', [f64([2, 5], logits.slice(0, 10)), tensor('int64', [2], [-1, -1])], { reduction: 'mean', ignoreIndex: -1 });
    expect(Number.isNaN(none![0]!)).toBe(true);
  });

  it('is stable for huge logits (log-sum-exp with max subtracted)', async () => {
    const shift = logits.slice(0, 10).map((v) => v + 1e4);
    const [y] = await run('softmax_cross_entropy', [f64([2, 5], shift), tensor('int64', [2], [1, 3])], { reduction: 'mean', ignoreIndex: null });
    const want = naiveCe(logits.slice(0, 10), [1, 3], 5, null, 'mean');
    expect(Math.abs(y![0]! - want)).toBeLessThan(1e-9);
  });

  it('throws PockError(input) naming an out-of-range label and its position', async () => {
    const bad = [0, 1, 2, 5, 0, 1];
    const attempt = run('softmax_cross_entropy', [f64([2, 3, 5], logits), tensor('int64', [2, 3], bad)], { reduction: 'mean', ignoreIndex: null });
    await expect(attempt).rejects.toThrow(PockError);
    await expect(attempt).rejects.toMatchObject({ code: 'input', message: expect.stringMatching(/label 5 at position \[1,0\]/) });
    // a negative label that is not ignoreIndex is just as wrong
    const neg = run('softmax_cross_entropy', [f64([2, 5], logits.slice(0, 10)), tensor('int32', [2], [0, -100])], { reduction: 'sum', ignoreIndex: -1 });
    await expect(neg).rejects.toMatchObject({ code: 'input', message: expect.stringMatching(/label -100 at position \[1\]/) });
  });

  it('checks shapes and dtypes at build time', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [4, 5]);
    expect(() => b.op1('softmax_cross_entropy', [x, b.input('l', 'int64', [5])], { reduction: 'mean', ignoreIndex: null })).toThrow(/labels shape/);
    expect(() => b.op1('softmax_cross_entropy', [x, b.input('m', 'float32', [4])], { reduction: 'mean', ignoreIndex: null })).toThrow(/int32 or int64/);
  });
});

describe('dropout', () => {
  const n = 20000;
  const xs = Array.from({ length: n }, (_, i) => Math.cos(i) + 2);
  const x = f64([100, 200], xs);
  const counter = (v: number) => tensor('int32', [], [v]);

  it('ratio 0 is the identity', async () => {
    const [y, mask] = await run('dropout', [x, counter(3)], { ratio: 0, seed: 9 });
    expectClose(y!, xs, 0);
    expect(mask!.every((m) => m === 1)).toBe(true);
  });

  it('mask holds 0 or 1/(1-ratio) with mean close to 1, and y = x * mask', async () => {
    const ratio = 0.3;
    const [y, mask] = await run('dropout', [x, counter(11)], { ratio, seed: 1234 });
    const keep = 1 / (1 - ratio);
    let kept = 0;
    for (let i = 0; i < n; i++) {
      expect(mask![i] === 0 || mask![i] === keep).toBe(true);
      if (mask![i] !== 0) kept++;
      expect(y![i]).toBe(xs[i]! * mask![i]!);
      expect(mask![i] !== 0).toBe(dropoutKeep(1234, 11, i, ratio));
    }
    // binomial: std of the kept fraction is sqrt(0.21 / 20000) ~ 0.0032
    expect(Math.abs(kept / n - 0.7)).toBeLessThan(0.015);
    const mean = mask!.reduce((s, m) => s + m, 0) / n;
    expect(Math.abs(mean - 1)).toBeLessThan(0.02);
  });

  it('is reproducible for the same seed and counter, and differs across counters and seeds', async () => {
    const attrs = { ratio: 0.5, seed: 77 };
    const [, a] = await run('dropout', [x, counter(5)], attrs);
    const [, again] = await run('dropout', [x, counter(5)], attrs);
    const [, next] = await run('dropout', [x, counter(6)], attrs);
    const [, other] = await run('dropout', [x, counter(5)], { ratio: 0.5, seed: 78 });
    expect(again).toEqual(a);
    // independent masks agree on about half the elements (p^2 + (1-p)^2 = 0.5)
    const agree = (u: Float64Array, v: Float64Array) => u.reduce((s, m, i) => s + (m === v[i] ? 1 : 0), 0) / n;
    expect(Math.abs(agree(a!, next!) - 0.5)).toBeLessThan(0.03);
    expect(Math.abs(agree(a!, other!) - 0.5)).toBeLessThan(0.03);
  });

  it('works in float32 and drops everything at ratio 1', async () => {
    const x32 = tensor('float32', [4, 8], Array.from({ length: 32 }, (_, i) => i + 1));
    const [y, mask] = await run('dropout', [x32, counter(0)], { ratio: 0.25, seed: 5 });
    for (let i = 0; i < 32; i++) expect(y![i]).toBeCloseTo((i + 1) * mask![i]!, 5);
    const [z] = await run('dropout', [x32, counter(0)], { ratio: 1, seed: 5 });
    expect(z!.every((v) => v === 0)).toBe(true);
  });

  it('validates ratio and the counter type at build time', () => {
    const b = new GraphBuilder();
    const v = b.input('v', 'float32', [3]);
    expect(() => b.op('dropout', [v, b.input('c', 'int32', [])], { ratio: 1.5, seed: 0 })).toThrow(/ratio/);
    expect(() => b.op('dropout', [v, b.input('d', 'int32', [1])], { ratio: 0.5, seed: 0 })).toThrow(/counter/);
  });
});
