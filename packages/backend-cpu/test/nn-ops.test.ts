/**
 * Forward values of the nn ops (conv2d, max/avg pooling, batch_norm, layer_norm) against
 * hand-computed results and naive loops written independently here (every output scans its
 * window with bounds checks, unlike the kernels' precomputed ranges); shape and attribute errors;
 * and the structure of the conv / batch_norm gradients (pruned by `needs`, null cotangents).
 */
import {
  GraphBuilder,
  PockError,
  Program,
  dce,
  gradients,
  rng,
  size,
  tensor,
  type AttrsOf,
  type ConvAttrs,
  type DType,
  type OpName,
  type Tensor,
} from '@pockengine/core';
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../src/index.js';

function rand(shape: number[], seed: number, dtype: DType = 'float64', lo = -1, hi = 1): Tensor {
  const r = rng(seed);
  return tensor(dtype, shape, Array.from({ length: size(shape) }, () => lo + (hi - lo) * r()));
}

/** Runs one op on constant inputs and returns all its outputs as plain arrays. */
async function run<K extends OpName>(op: K, inputs: Tensor[], attrs: AttrsOf<K>): Promise<number[][]> {
  const b = new GraphBuilder(`run_${op}`);
  const outs = b.op(op, inputs.map((t, i) => b.constant(t, `c${i}`)), attrs);
  outs.forEach((o, k) => b.output(`y${k}`, o));
  const res = await Program.create(b.build(), new CpuBackend()).step({});
  return outs.map((_, k) => Array.from(res[`y${k}`]!.data as Float64Array));
}

function expectClose(got: readonly number[], want: readonly number[], tol = 1e-9): void {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(Math.abs(g - want[i]!), `element ${i}: ${g} vs ${want[i]}`).toBeLessThan(tol));
}

/** Throws-check returning the PockError (fails the test if something else is thrown). */
function errorOf(fn: () => unknown): PockError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(PockError);
    return e as PockError;
  }
  throw new Error('expected a PockError');
}

const conv = (a: Partial<ConvAttrs> = {}): ConvAttrs => ({ strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], groups: 1, ...a });

/** Naive conv2d: each output sums its whole window, skipping taps that fall in the padding. */
function naiveConv(x: Tensor, w: Tensor, bias: Tensor | null, a: ConvAttrs): number[] {
  const [n, c, h, wd] = x.shape as number[];
  const [m, cg, kh, kw] = w.shape as number[];
  const [sh, sw] = a.strides;
  const [pt, pl, pb, pr] = a.pads;
  const [dh, dw] = a.dilations;
  const oh = Math.floor((h! + pt! + pb! - dh! * (kh! - 1) - 1) / sh!) + 1;
  const ow = Math.floor((wd! + pl! + pr! - dw! * (kw! - 1) - 1) / sw!) + 1;
  const X = x.data as Float64Array;
  const W = w.data as Float64Array;
  const out: number[] = [];
  for (let in_ = 0; in_ < n!; in_++)
    for (let om = 0; om < m!; om++) {
      const grp = Math.floor(om / (m! / a.groups));
      for (let i = 0; i < oh; i++)
        for (let j = 0; j < ow; j++) {
          let s = bias ? Number(bias.data[om]) : 0;
          for (let cl = 0; cl < cg!; cl++)
            for (let ki = 0; ki < kh!; ki++)
              for (let kj = 0; kj < kw!; kj++) {
                const ih = i * sh! - pt! + ki * dh!;
                const iw = j * sw! - pl! + kj * dw!;
                if (ih < 0 || ih >= h! || iw < 0 || iw >= wd!) continue;
                const ic = grp * cg! + cl;
                s += X[((in_ * c! + ic) * h! + ih) * wd! + iw]! * W[((om * cg! + cl) * kh! + ki) * kw! + kj]!;
              }
          out.push(s);
        }
    }
  return out;
}

describe('conv2d forward', () => {
  it('matches a hand-computed 3x3 * 2x2 of ones', async () => {
    const x = tensor('float64', [1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const w = tensor('float64', [1, 1, 2, 2], [1, 1, 1, 1]);
    expectClose((await run('conv2d', [x, w], conv()))[0]!, [12, 16, 24, 28]);
    // padded by 1, stride 2: windows at (-1,-1), (-1,1), (1,-1), (1,1) of the padded image
    expectClose((await run('conv2d', [x, w], conv({ strides: [2, 2], pads: [1, 1, 1, 1] })))[0]!, [1, 5, 11, 28]);
    // bias is added once per output
    const b = tensor('float64', [1], [0.5]);
    expectClose((await run('conv2d', [x, w, b], conv()))[0]!, [12.5, 16.5, 24.5, 28.5]);
  });

  it('depthwise conv applies one filter per channel', async () => {
    const x = tensor('float64', [1, 2, 2, 2], [1, 2, 3, 4, 10, 20, 30, 40]);
    const w = tensor('float64', [2, 1, 1, 1], [2, -1]);
    expectClose((await run('conv2d', [x, w], conv({ groups: 2 })))[0]!, [2, 4, 6, 8, -10, -20, -30, -40]);
  });

  const variants: [string, number[], number[], boolean, Partial<ConvAttrs>][] = [
    ['plain', [2, 3, 6, 5], [4, 3, 3, 3], true, {}],
    ['stride 2, pads 1', [1, 3, 7, 7], [2, 3, 3, 3], true, { strides: [2, 2], pads: [1, 1, 1, 1] }],
    ['asymmetric pads, stride [2,1]', [1, 2, 5, 6], [3, 2, 3, 2], false, { strides: [2, 1], pads: [2, 0, 1, 1] }],
    ['groups 2', [2, 4, 5, 5], [6, 2, 3, 3], true, { groups: 2, pads: [1, 1, 1, 1] }],
    ['depthwise x2, stride 2', [1, 3, 6, 6], [6, 1, 3, 3], true, { groups: 3, strides: [2, 2], pads: [1, 1, 1, 1] }],
    ['dilation 2', [1, 2, 7, 7], [2, 2, 3, 3], false, { dilations: [2, 2], pads: [2, 1, 2, 1] }],
    ['pads larger than the kernel', [1, 1, 3, 3], [1, 1, 2, 2], true, { pads: [3, 3, 3, 3], strides: [2, 2] }],
  ];
  for (const [label, xs, ws, withBias, a] of variants) {
    it(`matches a naive loop: ${label}`, async () => {
      const x = rand(xs, 1);
      const w = rand(ws, 2);
      const b = withBias ? rand([ws[0]!], 3) : null;
      const attrs = conv(a);
      const got = (await run('conv2d', b ? [x, w, b] : [x, w], attrs))[0]!;
      expectClose(got, naiveConv(x, w, b, attrs), 1e-12);
    });
  }

  it('runs in float32', async () => {
    const x = rand([1, 2, 5, 5], 4, 'float32');
    const w = rand([2, 1, 3, 3], 5, 'float32');
    const attrs = conv({ groups: 2, pads: [1, 1, 1, 1] });
    const got = (await run('conv2d', [x, w], attrs))[0]!;
    expectClose(got, naiveConv(rand([1, 2, 5, 5], 4, 'float32'), rand([2, 1, 3, 3], 5, 'float32'), null, attrs), 1e-5);
  });
});

/** Naive pooling with explicit window bounds; `avg` divisors follow PyTorch avg_pool2d. */
function naivePool(x: Tensor, k: number[], s: number[], p: number[], oh: number, ow: number, mode: 'max' | 'avg', includePad = false): number[] {
  const [n, c, h, w] = x.shape as number[];
  const X = x.data as Float64Array;
  const out: number[] = [];
  for (let plane = 0; plane < n! * c!; plane++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++) {
        const hs = i * s[0]! - p[0]!;
        const ws = j * s[1]! - p[1]!;
        let best = -Infinity;
        let sum = 0;
        let count = 0;
        for (let ih = hs; ih < hs + k[0]!; ih++)
          for (let iw = ws; iw < ws + k[1]!; iw++) {
            if (ih < 0 || ih >= h! || iw < 0 || iw >= w!) continue;
            const v = X[plane * h! * w! + ih * w! + iw]!;
            best = Math.max(best, v);
            sum += v;
            count++;
          }
        const padded = (Math.min(hs + k[0]!, h! + p[2]!) - hs) * (Math.min(ws + k[1]!, w! + p[3]!) - ws);
        out.push(mode === 'max' ? best : sum / (includePad ? padded : count));
      }
  return out;
}

describe('pooling forward', () => {
  const arange = tensor('float64', [1, 1, 4, 4], Array.from({ length: 16 }, (_, i) => i));
  const maxA = { kernel: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0], dilations: [1, 1], ceilMode: false };

  it('max_pool2d 2x2 stride 2 by hand', async () => {
    expectClose((await run('max_pool2d', [arange], maxA))[0]!, [5, 7, 13, 15]);
  });

  it('max_pool2d padding never wins over negative values', async () => {
    const neg = tensor('float64', [1, 1, 3, 3], [-9, -8, -7, -6, -5, -4, -3, -2, -1]);
    const y = (await run('max_pool2d', [neg], { ...maxA, kernel: [3, 3], pads: [1, 1, 1, 1] }))[0]!;
    // 3x3 windows at (-1,-1), (-1,1), (1,-1), (1,1) of the padded image
    expectClose(y, [-5, -4, -2, -1]);
  });

  it('max_pool2d ceil mode keeps a partial last window, drops one starting in the padding', async () => {
    // 5 wide, k 2, s 2: floor gives 2 outputs, ceil 3 (the last window holds one column)
    const x = rand([1, 2, 5, 5], 6);
    const y = (await run('max_pool2d', [x], { ...maxA, ceilMode: true }))[0]!;
    expectClose(y, naivePool(x, [2, 2], [2, 2], [0, 0, 0, 0], 3, 3, 'max'));
    // 3 wide, pads 1, k 2, s 2: ceil((3+2-2)/2)+1 = 3 windows, but the third would start at 3, in the
    // end padding ((3-1)*2 >= 3+1), so PyTorch keeps 2: windows at -1 and 1
    const x3 = tensor('float64', [1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const y3 = (await run('max_pool2d', [x3], { ...maxA, pads: [1, 1, 1, 1], ceilMode: true }))[0]!;
    expectClose(y3, [1, 3, 7, 9]);
  });

  it('max_pool2d with dilation and asymmetric pads matches a naive loop', async () => {
    const x = rand([2, 2, 6, 7], 7);
    const y = (await run('max_pool2d', [x], { ...maxA, kernel: [2, 2], strides: [1, 2], dilations: [2, 1], pads: [1, 0, 0, 1] }))[0]!;
    // a dilated 2-tap window is the max of taps 0 and 2: equal to naive over positions {hs, hs+2}
    const X = x.data as Float64Array;
    const want: number[] = [];
    for (let p = 0; p < 4; p++)
      for (let i = 0; i < 5; i++)
        for (let j = 0; j < 4; j++) {
          let best = -Infinity;
          for (const ih of [i - 1, i + 1])
            for (const iw of [2 * j, 2 * j + 1])
              if (ih >= 0 && ih < 6 && iw < 7) best = Math.max(best, X[p * 42 + ih * 7 + iw]!);
          want.push(best);
        }
    expectClose(y, want);
  });

  const avgA = { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceilMode: true, countIncludePad: true };
  it('avg_pool2d ceil mode with countIncludePad (PyTorch divisors)', async () => {
    const ones = tensor('float64', [1, 1, 4, 4], new Array(16).fill(1));
    // windows start at -1, 1, 3 and end at min(start+3, 4+1): divisors 3, 3, 2 per axis
    const y = (await run('avg_pool2d', [ones], avgA))[0]!;
    expectClose(y, [4 / 9, 6 / 9, 2 / 6, 6 / 9, 1, 3 / 6, 2 / 6, 3 / 6, 1 / 4]);
    const yEx = (await run('avg_pool2d', [ones], { ...avgA, countIncludePad: false }))[0]!;
    expectClose(yEx, new Array(9).fill(1));
  });

  it('avg_pool2d matches a naive loop (asymmetric pads, both divisor modes)', async () => {
    const x = rand([2, 3, 5, 6], 8);
    for (const countIncludePad of [true, false]) {
      const a = { kernel: [3, 2], strides: [2, 2], pads: [0, 1, 2, 1], ceilMode: false, countIncludePad };
      const y = (await run('avg_pool2d', [x], a))[0]!;
      expectClose(y, naivePool(x, [3, 2], [2, 2], [0, 1, 2, 1], 3, 4, 'avg', countIncludePad), 1e-12);
    }
  });
});

describe('normalization forward', () => {
  it('batch_norm eval uses the given statistics', async () => {
    const x = tensor('float64', [2, 2, 1, 2], [1, 2, 3, 4, 5, 6, 7, 8]);
    const scale = tensor('float64', [2], [2, 0.5]);
    const bias = tensor('float64', [2], [1, -1]);
    const mean = tensor('float64', [2], [3, 5]);
    const variance = tensor('float64', [2], [4, 1]);
    const [y] = await run('batch_norm', [x, scale, bias, mean, variance], { epsilon: 0, training: false });
    // layout [n][c][w]: channel 0 holds 1,2,5,6 -> (x - 3) / 2 * 2 + 1 = x - 2; channel 1 holds 3,4,7,8 -> (x - 5) * 0.5 - 1
    expectClose(y!, [-1, 0, -2, -1.5, 3, 4, 0, 0.5]);
  });

  it('batch_norm training normalizes with biased batch statistics and outputs them', async () => {
    const x = rand([3, 2, 2, 2], 9);
    const X = x.data as Float64Array;
    const ones = tensor('float64', [2], [1, 1]);
    const zeros = tensor('float64', [2], [0, 0]);
    const eps = 1e-5;
    const [y, bm, bv] = await run('batch_norm', [x, ones, zeros, zeros, ones], { epsilon: eps, training: true });
    for (let c = 0; c < 2; c++) {
      const idx = [0, 1, 2].flatMap((n) => [0, 1, 2, 3].map((s) => n * 8 + c * 4 + s));
      const mu = idx.reduce((a, i) => a + X[i]!, 0) / 12;
      const v = idx.reduce((a, i) => a + (X[i]! - mu) ** 2, 0) / 12;
      expect(bm![c]).toBeCloseTo(mu, 12);
      expect(bv![c]).toBeCloseTo(v, 12);
      for (const i of idx) expect(y![i]).toBeCloseTo((X[i]! - mu) / Math.sqrt(v + eps), 10);
    }
  });

  it('layer_norm over the last 2 axes outputs mean and invStd with kept rank', async () => {
    const x = rand([2, 3, 2], 10);
    const scale = rand([3, 2], 11);
    const bias = rand([3, 2], 12);
    const b = new GraphBuilder('ln');
    const outs = b.op('layer_norm', [b.constant(x), b.constant(scale), b.constant(bias)], { axis: -2, epsilon: 1e-5 });
    expect(outs.map((o) => b.shape(o))).toEqual([[2, 3, 2], [2, 1, 1], [2, 1, 1]]);
    const [y, mean, inv] = await run('layer_norm', [x, scale, bias], { axis: -2, epsilon: 1e-5 });
    const X = x.data as Float64Array;
    for (let r = 0; r < 2; r++) {
      const row = Array.from(X.subarray(r * 6, r * 6 + 6));
      const mu = row.reduce((a, v) => a + v, 0) / 6;
      const is = 1 / Math.sqrt(row.reduce((a, v) => a + (v - mu) ** 2, 0) / 6 + 1e-5);
      expect(mean![r]).toBeCloseTo(mu, 12);
      expect(inv![r]).toBeCloseTo(is, 10);
      row.forEach((v, j) => expect(y![r * 6 + j]).toBeCloseTo((v - mu) * is * Number(scale.data[j]) + Number(bias.data[j]), 10));
    }
  });
});

describe('nn op errors', () => {
  let count = 0;
  const typed = (b: GraphBuilder, shape: number[]) => b.input(`v${count++}`, 'float32', shape);

  it('conv2d rejects bad groups, channel and bias mismatches, and windows that do not fit', () => {
    const b = new GraphBuilder();
    const x = typed(b, [1, 16, 8, 8]);
    const e = errorOf(() => b.op('conv2d', [x, typed(b, [6, 5, 3, 3])], conv({ groups: 3 })));
    expect(e.code).toBe('attr');
    expect(e.message).toContain('group=3 does not divide input channels 16');
    expect(errorOf(() => b.op('conv2d', [x, typed(b, [6, 8, 3, 3])], conv({ groups: 4 }))).message).toContain('does not divide output channels 6');
    expect(errorOf(() => b.op('conv2d', [x, typed(b, [4, 8, 3, 3])], conv())).code).toBe('shape');
    expect(errorOf(() => b.op('conv2d', [x, typed(b, [4, 16, 3, 3]), typed(b, [5])], conv())).message).toContain('bias must have shape [4]');
    expect(errorOf(() => b.op('conv2d', [x, typed(b, [4, 16, 9, 9])], conv())).code).toBe('shape');
    expect(errorOf(() => b.op('conv2d', [x, typed(b, [4, 16, 3, 3])], conv({ strides: [0, 1] }))).code).toBe('attr');
    expect(errorOf(() => b.op('conv2d', [typed(b, [16, 8, 8]), typed(b, [4, 16, 3, 3])], conv())).code).toBe('shape');
  });

  it('pooling rejects pads as large as the window and kernels larger than the input', () => {
    const b = new GraphBuilder();
    const x = typed(b, [1, 2, 4, 4]);
    const a = { kernel: [2, 2], strides: [2, 2], pads: [2, 0, 0, 0], dilations: [1, 1], ceilMode: false };
    expect(errorOf(() => b.op('max_pool2d', [x], a)).code).toBe('attr');
    expect(errorOf(() => b.op('avg_pool2d', [x], { ...a, pads: [0, 0, 0, 0], kernel: [5, 5], countIncludePad: false })).code).toBe('shape');
  });

  it('normalization rejects mis-shaped parameters', () => {
    const b = new GraphBuilder();
    const x = typed(b, [2, 3, 4]);
    const c3 = () => typed(b, [3]);
    expect(errorOf(() => b.op('batch_norm', [x, typed(b, [4]), c3(), c3(), c3()], { epsilon: 1e-5, training: true })).message).toContain('scale must have shape [3]');
    expect(errorOf(() => b.op('layer_norm', [x, typed(b, [4])], { axis: -2, epsilon: 1e-5 })).message).toContain('scale must have shape [3,4]');
    expect(errorOf(() => b.op('layer_norm', [x, typed(b, [4])], { axis: 3, epsilon: 1e-5 })).code).toBe('shape');
  });
});

describe('nn op gradients: structure', () => {
  it('conv2d emits only the backward ops whose inputs need a gradient', () => {
    for (const [wrt, present, absent] of [
      [[1], 'conv2d_grad_weight', 'conv2d_grad_input'],
      [[0], 'conv2d_grad_input', 'conv2d_grad_weight'],
    ] as const) {
      const b = new GraphBuilder();
      const x = b.input('x', 'float64', [1, 2, 4, 4]);
      const w = b.input('w', 'float64', [3, 2, 3, 3]);
      const y = b.op1('conv2d', [x, w, b.constant(rand([3], 1))], conv());
      const loss = b.reduceSum(y, [0, 1, 2, 3]);
      const { graph } = gradients(b.build(), loss, wrt.map((i) => [x, w][i]!));
      const ops = graph.nodes.map((n) => n.op);
      expect(ops).toContain(present);
      expect(ops).not.toContain(absent);
    }
  });

  it('batch_norm training gradient with null cotangents for the batch statistics', async () => {
    // loss = sum(y * r) only: the batchMean / batchVar outputs get no cotangent
    const x0 = rand([3, 2, 2], 13, 'float64', -2, 2);
    const r = rand([3, 2, 2], 14);
    const consts = [rand([2], 15, 'float64', 0.5, 1.5), rand([2], 16), rand([2], 17), rand([2], 18, 'float64', 0.5, 1.5)];
    const build = () => {
      const b = new GraphBuilder();
      const x = b.input('x', 'float64', [3, 2, 2]);
      const [y] = b.op('batch_norm', [x, ...consts.map((t) => b.constant(t))], { epsilon: 1e-5, training: true });
      const loss = b.reduceSum(b.mul(y!, b.constant(r)), [0, 1, 2]);
      b.output('loss', loss);
      return { b, x, loss };
    };
    const { b, x, loss } = build();
    const { graph, grads } = gradients(b.build(), loss, [x]);
    const gb = new GraphBuilder(graph.name, graph);
    gb.output('gx', grads.get(x)!);
    const be = new CpuBackend();
    const gx = (await Program.create(dce(gb.build()), be).step({ x: x0 })).gx!.data as Float64Array;
    const fwd = Program.create(build().b.build(), be);
    const X = x0.data as Float64Array;
    for (let i = 0; i < X.length; i++) {
      const orig = X[i]!;
      X[i] = orig + 1e-6;
      const lp = Number((await fwd.step({ x: x0 })).loss!.data[0]);
      X[i] = orig - 1e-6;
      const lm = Number((await fwd.step({ x: x0 })).loss!.data[0]);
      X[i] = orig;
      expect(Math.abs(gx[i]! - (lp - lm) / 2e-6)).toBeLessThan(1e-6);
    }
  });
});
