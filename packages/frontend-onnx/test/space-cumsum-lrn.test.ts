/**
 * DepthToSpace (DCR and CRD), SpaceToDepth, CumSum (exclusive / reverse, any axis) and LRN:
 * outputs in float64 against scalar loops written from the ONNX operator pages, and parameter
 * gradients of the compiled training program against central finite differences of the loss.
 * The handlers are decompositions (reshape / transpose, a matmul with a triangular constant, an
 * average pool across channels and pow), so the gradients come from those ops' rules.
 */
import { size, tensor, type Tensor } from '@pockengine/core';
import { describe, expect, it } from 'vitest';
import { importOnnx } from '../src/index.js';
import { buildModel, node, type AttrValue, type ModelSpec } from './build.js';
import { expectClose, f32, f64, forward, gradCheck, importError, oneNode, values } from './handler-helpers.js';

// ---- helpers ------------------------------------------------------------------------------------

const i64 = (shape: number[], data: number[]) => tensor('int64', shape, data);


/** Row-major flat index of `idx` in `shape`. */
function flat(shape: readonly number[], idx: readonly number[]): number {
  return idx.reduce((acc, v, i) => acc * shape[i]! + v, 0);
}


/** IR op types of an imported single-node model. */
function irOps(spec: ModelSpec): string[] {
  return importOnnx(buildModel(spec), { floatType: 'float64' }).graph.nodes.map((n) => n.op);
}

// ---- references (ONNX operator pages, scalar loops in float64) ---------------------------------

/**
 * DepthToSpace of x [N, C, H, W]: y[n, c, h*bs + i, w*bs + j] takes input channel
 * (i*bs + j) * C/bs^2 + c in DCR mode and c * bs^2 + i*bs + j in CRD mode (the spec's reshape /
 * transpose recipes, read per element).
 */
function depthToSpaceRef(x: number[], shape: number[], bs: number, mode: 'DCR' | 'CRD'): number[] {
  const [n, c, h, w] = shape as [number, number, number, number];
  const oc = c / (bs * bs);
  const os = [n, oc, h * bs, w * bs];
  const y = new Array<number>(x.length);
  for (let b = 0; b < n; b++)
    for (let k = 0; k < oc; k++)
      for (let r = 0; r < h; r++)
        for (let s = 0; s < w; s++)
          for (let i = 0; i < bs; i++)
            for (let j = 0; j < bs; j++) {
              const ic = mode === 'DCR' ? (i * bs + j) * oc + k : k * bs * bs + i * bs + j;
              y[flat(os, [b, k, r * bs + i, s * bs + j])] = x[flat(shape, [b, ic, r, s])]!;
            }
  return y;
}

/** SpaceToDepth of x [N, C, H, W]: y[n, (i*bs + j)*C + c, h, w] = x[n, c, h*bs + i, w*bs + j]. */
function spaceToDepthRef(x: number[], shape: number[], bs: number): number[] {
  const [n, c, h, w] = shape as [number, number, number, number];
  const os = [n, c * bs * bs, h / bs, w / bs];
  const y = new Array<number>(x.length);
  for (let b = 0; b < n; b++)
    for (let k = 0; k < c; k++)
      for (let r = 0; r < h / bs; r++)
        for (let s = 0; s < w / bs; s++)
          for (let i = 0; i < bs; i++)
            for (let j = 0; j < bs; j++) y[flat(os, [b, (i * bs + j) * c + k, r, s])] = x[flat(shape, [b, k, r * bs + i, s * bs + j])]!;
  return y;
}

/**
 * CumSum along `axis` (already non-negative): output j sums inputs 0..j (inclusive), 0..j-1
 * (exclusive), j..n-1 (reverse), j+1..n-1 (reverse exclusive).
 */
function cumsumRef(x: number[], shape: number[], axis: number, exclusive: boolean, reverse: boolean): number[] {
  const n = shape[axis]!;
  const pre = size(shape.slice(0, axis));
  const post = size(shape.slice(axis + 1));
  const y = new Array<number>(x.length);
  for (let p = 0; p < pre; p++)
    for (let q = 0; q < post; q++)
      for (let j = 0; j < n; j++) {
        const [from, to] = reverse ? [exclusive ? j + 1 : j, n - 1] : [0, exclusive ? j - 1 : j];
        let acc = 0;
        for (let i = from; i <= to; i++) acc += x[(p * n + i) * post + q]!;
        y[(p * n + j) * post + q] = acc;
      }
  return y;
}

/**
 * LRN of x [N, C, H, W]: square_sum over channels max(0, c - floor((size-1)/2)) ..
 * min(C-1, c + ceil((size-1)/2)); y = x / (bias + alpha / size * square_sum)^beta.
 */
function lrnRef(x: number[], shape: number[], sz: number, alpha: number, beta: number, bias: number): number[] {
  const [n, c, h, w] = shape as [number, number, number, number];
  const y = new Array<number>(x.length);
  for (let b = 0; b < n; b++)
    for (let k = 0; k < c; k++)
      for (let r = 0; r < h; r++)
        for (let s = 0; s < w; s++) {
          let sq = 0;
          for (let i = Math.max(0, k - Math.floor((sz - 1) / 2)); i <= Math.min(c - 1, k + Math.ceil((sz - 1) / 2)); i++) sq += x[flat(shape, [b, i, r, s])]! ** 2;
          const at = flat(shape, [b, k, r, s]);
          y[at] = x[at]! / (bias + (alpha / sz) * sq) ** beta;
        }
  return y;
}

/** `op` applied to x * w (w an initializer of x's shape without the batch dim), so gradients reach w. */
function afterWeight(op: string, shape: number[], extra: [string, Tensor][], attrs: Record<string, AttrValue>, seed: number): ModelSpec {
  return {
    nodes: [node('Mul', ['x', 'w'], ['h']), node(op, ['h', ...extra.map(([n]) => n)], ['y'], attrs)],
    inputs: [['x', 'float32', shape]],
    outputs: ['y'],
    initializers: [['w', f32(shape.slice(1), values(size(shape.slice(1)), seed, 0.5, 1.5))], ...extra],
  };
}

// ---- DepthToSpace / SpaceToDepth ---------------------------------------------------------------

describe('DepthToSpace and SpaceToDepth', () => {
  // the example of the ONNX operator page: x [1, 8, 2, 3] holding 0..68 with gaps, blocksize 2
  const pageX = [0, 1, 2, 3, 4, 5, 9, 10, 11, 12, 13, 14, 18, 19, 20, 21, 22, 23, 27, 28, 29, 30, 31, 32, 36, 37, 38, 39, 40, 41, 45, 46, 47, 48, 49, 50, 54, 55, 56, 57, 58, 59, 63, 64, 65, 66, 67, 68];
  it('DCR and CRD reproduce the examples of the ONNX operator page', async () => {
    const dcr = await forward(oneNode('DepthToSpace', [1, 8, 2, 3], [], { blocksize: 2 }, 11), { x: f64([1, 8, 2, 3], pageX) });
    expect(dcr.y).toEqual([
      0, 18, 1, 19, 2, 20, 36, 54, 37, 55, 38, 56, 3, 21, 4, 22, 5, 23, 39, 57, 40, 58, 41, 59,
      9, 27, 10, 28, 11, 29, 45, 63, 46, 64, 47, 65, 12, 30, 13, 31, 14, 32, 48, 66, 49, 67, 50, 68,
    ]);
    const crd = await forward(oneNode('DepthToSpace', [1, 8, 2, 3], [], { blocksize: 2, mode: 'CRD' }, 11), { x: f64([1, 8, 2, 3], pageX) });
    expect(crd.y).toEqual([
      0, 9, 1, 10, 2, 11, 18, 27, 19, 28, 20, 29, 3, 12, 4, 13, 5, 14, 21, 30, 22, 31, 23, 32,
      36, 45, 37, 46, 38, 47, 54, 63, 55, 64, 56, 65, 39, 48, 40, 49, 41, 50, 57, 66, 58, 67, 59, 68,
    ]);
  });

  for (const [mode, bs, shape] of [
    ['DCR', 2, [2, 12, 2, 3]],
    ['CRD', 2, [2, 12, 2, 3]],
    ['DCR', 3, [1, 18, 2, 1]],
    ['CRD', 3, [2, 9, 1, 2]],
  ] as const)
    it(`DepthToSpace ${mode} blocksize ${bs} on [${shape}]`, async () => {
      const s = [...shape];
      const x = values(size(s), 1 + bs);
      const attrs: Record<string, AttrValue> = mode === 'DCR' ? { blocksize: bs } : { blocksize: bs, mode };
      const out = await forward(oneNode('DepthToSpace', s, [], attrs), { x: f64(s, x) });
      expectClose(out.y!, depthToSpaceRef(x, s, bs, mode));
    });

  it('DCR and CRD differ (the mode attribute is read)', async () => {
    const s = [1, 8, 1, 1];
    const x = [0, 1, 2, 3, 4, 5, 6, 7];
    const dcr = await forward(oneNode('DepthToSpace', s, [], { blocksize: 2, mode: 'DCR' }), { x: f64(s, x) });
    const crd = await forward(oneNode('DepthToSpace', s, [], { blocksize: 2, mode: 'CRD' }), { x: f64(s, x) });
    // y[c, i, j]: DCR takes channel (2i + j) * 2 + c, CRD takes 4c + 2i + j
    expect(dcr.y).toEqual([0, 2, 4, 6, 1, 3, 5, 7]);
    expect(crd.y).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  for (const [bs, shape] of [
    [2, [2, 3, 4, 6]],
    [3, [1, 2, 3, 6]],
  ] as const)
    it(`SpaceToDepth blocksize ${bs} on [${shape}]`, async () => {
      const s = [...shape];
      const x = values(size(s), 10 + bs);
      const out = await forward(oneNode('SpaceToDepth', s, [], { blocksize: bs }), { x: f64(s, x) });
      expectClose(out.y!, spaceToDepthRef(x, s, bs));
    });

  it('SpaceToDepth then DepthToSpace (DCR) and back again are the identity', async () => {
    const s = [2, 3, 4, 6];
    const x = values(size(s), 20);
    const spec: ModelSpec = {
      nodes: [
        node('SpaceToDepth', ['x'], ['d'], { blocksize: 2 }),
        node('DepthToSpace', ['d'], ['y'], { blocksize: 2 }),
        node('DepthToSpace', ['d'], ['e'], { blocksize: 2, mode: 'CRD' }),
        node('SpaceToDepth', ['y'], ['z'], { blocksize: 2 }),
      ],
      inputs: [['x', 'float32', s]],
      outputs: ['y', 'z', 'd', 'e'],
    };
    const out = await forward(spec, { x: f64(s, x) });
    expect(out.y).toEqual(x);
    expect(out.z).toEqual(out.d);
    // CRD is not the inverse of SpaceToDepth: it interleaves the channels differently
    expect(out.e).not.toEqual(x);
    expectClose(out.e!, depthToSpaceRef(out.d!, [2, 12, 2, 3], 2, 'CRD'));
  });

  it('maps onto reshape and transpose only; blocksize 1 is the identity', () => {
    expect(irOps(oneNode('DepthToSpace', [1, 8, 2, 2], [], { blocksize: 2, mode: 'CRD' }))).toEqual(['reshape', 'transpose', 'reshape']);
    expect(irOps(oneNode('SpaceToDepth', [1, 2, 4, 4], [], { blocksize: 2 }))).toEqual(['reshape', 'transpose', 'reshape']);
    expect(irOps(oneNode('DepthToSpace', [1, 8, 2, 2], [], { blocksize: 1 }))).toEqual([]);
  });

  it('DepthToSpace CRD: the gradient of a weight before it matches finite differences', async () => {
    const s = [2, 8, 2, 1];
    await gradCheck(afterWeight('DepthToSpace', s, [], { blocksize: 2, mode: 'CRD' }, 30), f64(s, values(size(s), 31)), values(size(s), 32));
  });

  it('bad blocksize, mode, rank or dims fail at the node', () => {
    const d2s = (shape: number[], attrs: Record<string, AttrValue>) => importError(oneNode('DepthToSpace', shape, [], attrs));
    expect(d2s([1, 8, 2, 2], {}).message).toMatch(/DepthToSpace 'n0'.*'blocksize' is required/);
    expect(d2s([1, 8, 2, 2], { blocksize: 0 }).message).toMatch(/blocksize must be a positive integer, got 0/);
    expect(d2s([1, 8, 2, 2], { blocksize: -2 }).message).toMatch(/blocksize must be a positive integer, got -2/);
    const chans = d2s([1, 8, 2, 2], { blocksize: 3 });
    expect(chans.code).toBe('shape');
    expect(chans.message).toMatch(/8 input channels .* not a multiple of blocksize\^2 = 9/);
    expect(d2s([1, 8, 2, 2], { blocksize: 2, mode: 'XYZ' }).message).toMatch(/mode='XYZ' is not one of 'DCR', 'CRD'/);
    expect(d2s([8, 2, 2], { blocksize: 2 }).message).toMatch(/rank 4\), got shape \[8, ?2, ?2\]/);
    const s2d = importError(oneNode('SpaceToDepth', [1, 2, 4, 6], [], { blocksize: 4 }));
    expect(s2d.message).toMatch(/SpaceToDepth 'n0'.*spatial dims 4x6 .* not multiples of blocksize 4/);
    expect(importError(oneNode('SpaceToDepth', [1, 2, 4, 4], [], { blocksize: 0 })).message).toMatch(/blocksize must be a positive integer/);
  });
});

// ---- CumSum ------------------------------------------------------------------------------------

describe('CumSum', () => {
  const axisInit = (a: number, dtype: 'int64' | 'int32' = 'int64'): [string, Tensor] => ['axis', tensor(dtype, [], [a])];
  const combos = [
    [0, 0],
    [1, 0],
    [0, 1],
    [1, 1],
  ] as const;

  for (const [axis, want] of [
    [0, 0],
    [1, 1],
    [-2, 1],
    [2, 2],
    [-1, 2],
  ] as const)
    for (const [exclusive, reverse] of combos)
      it(`axis ${axis} of [3, 4, 5], exclusive=${exclusive}, reverse=${reverse}`, async () => {
        const s = [3, 4, 5];
        const x = values(size(s), 40 + want);
        const attrs = { ...(exclusive ? { exclusive } : {}), ...(reverse ? { reverse } : {}) };
        const out = await forward(oneNode('CumSum', s, [axisInit(axis)], attrs, 14), { x: f64(s, x) });
        expectClose(out.y!, cumsumRef(x, s, want, exclusive === 1, reverse === 1));
      });

  it('explicit exclusive=0 / reverse=0, an int32 axis and a 1-D input', async () => {
    const x = [1.5, -2, 4, 0.25, 3];
    const out = await forward(oneNode('CumSum', [5], [axisInit(0, 'int32')], { exclusive: 0, reverse: 0 }, 11), { x: f64([5], x) });
    expect(out.y).toEqual([1.5, -0.5, 3.5, 3.75, 6.75]);
    const rev = await forward(oneNode('CumSum', [5], [axisInit(-1)], { exclusive: 1, reverse: 1 }, 11), { x: f64([5], x) });
    expect(rev.y).toEqual([5.25, 7.25, 3.25, 3, 0]);
  });

  it('a constant integer input is folded at import (position ids from a constant mask)', async () => {
    const spec: ModelSpec = {
      nodes: [node('CumSum', ['mask', 'axis'], ['pos'], {}, 'cs'), node('Cast', ['pos'], ['posf'], { to: 1 }), node('Add', ['x', 'posf'], ['y'])],
      inputs: [['x', 'float32', [2, 4]]],
      outputs: ['y'],
      initializers: [['mask', i64([2, 4], [1, 1, 1, 0, 0, 1, 1, 1])], axisInit(1)],
    };
    const m = importOnnx(buildModel(spec), { floatType: 'float64' });
    expect(m.graph.nodes.map((n) => n.op)).toEqual(['add']);
    const out = await forward(spec, { x: f64([2, 4], new Array<number>(8).fill(0.5)) });
    expect(out.y).toEqual([1.5, 2.5, 3.5, 3.5, 0.5, 1.5, 2.5, 3.5]);
  });

  it('maps onto one matmul with a constant triangular matrix', () => {
    const ops = irOps(oneNode('CumSum', [2, 3, 4], [axisInit(1)], {}));
    expect(ops.filter((o) => o === 'matmul')).toHaveLength(1);
    expect(ops.every((o) => ['reshape', 'matmul'].includes(o)), ops.join()).toBe(true);
  });

  for (const [axis, exclusive, reverse] of [
    [0, 0, 0],
    [1, 1, 0],
    [2, 0, 1],
    [-1, 1, 1],
  ] as const)
    it(`axis ${axis} exclusive=${exclusive} reverse=${reverse}: the gradient of a weight before it matches finite differences`, async () => {
      const s = [2, 3, 4];
      const spec = afterWeight('CumSum', s, [axisInit(axis)], { exclusive, reverse }, 50 + axis);
      // the batch axis 0 of x is also the axis of the first case: w [3, 4] is broadcast over it
      await gradCheck(spec, f64(s, values(size(s), 51)), values(size(s), 52));
    });

  it('integer computed input, bad axis or flags fail at the node', () => {
    const int = importError({
      nodes: [node('CumSum', ['x', 'axis'], ['y'], {}, 'cs')],
      inputs: [['x', 'int64', [2, 3]]],
      outputs: ['y'],
      initializers: [axisInit(1)],
    });
    expect(int.code).toBe('dtype');
    expect(int.message).toMatch(/CumSum 'cs'.*input x is int64: only float inputs are supported/);
    expect(importError(oneNode('CumSum', [2, 3], [axisInit(2)], {})).message).toMatch(/CumSum 'n0'.*axis 2 out of range for rank 2/);
    expect(importError(oneNode('CumSum', [2, 3], [axisInit(-3)], {})).message).toMatch(/axis -3 out of range for rank 2/);
    expect(importError(oneNode('CumSum', [2, 3], [axisInit(0)], { reverse: 2 })).message).toMatch(/reverse must be 0 or 1, got 2/);
    expect(importError(oneNode('CumSum', [2, 3], [['axis', f32([], [1])]], {})).message).toMatch(/axis must be an int32 or int64 tensor, got float/);
    const computedAxis = importError({
      nodes: [node('CumSum', ['x', 'a'], ['y'], {}, 'cs')],
      inputs: [
        ['x', 'float32', [2, 3]],
        ['a', 'int64', []],
      ],
      outputs: ['y'],
    });
    expect(computedAxis.message).toMatch(/CumSum 'cs'.*axis \('a'\) must be a constant at import time/);
  });
});

// ---- LRN ---------------------------------------------------------------------------------------

describe('LRN', () => {
  const cases: [string, number[], number, Record<string, AttrValue>, [number, number, number]][] = [
    ['size 3 with alpha, beta, bias', [2, 5, 2, 3], 3, { alpha: 0.7, beta: 0.6, bias: 1.25 }, [Math.fround(0.7), Math.fround(0.6), 1.25]],
    ['size 4 (even: window c-1 .. c+2)', [2, 6, 3, 2], 4, { alpha: 1.3, beta: 0.9, bias: { f: 2 } }, [Math.fround(1.3), Math.fround(0.9), 2]],
    ['size 1 (each channel alone)', [1, 3, 2, 2], 1, { alpha: 0.5, beta: 1.5, bias: 0.75 }, [0.5, 1.5, 0.75]],
    ['size 5 wider than the 3 channels, default alpha, beta, bias', [2, 3, 2, 2], 5, {}, [1e-4, 0.75, 1]],
    ['size 2 on one channel', [2, 1, 3, 1], 2, { alpha: 2.5, beta: 0.5, bias: 0.5 }, [2.5, 0.5, 0.5]],
  ];
  for (const [what, s, sz, attrs, [alpha, beta, bias]] of cases)
    it(`${what} on [${s}]`, async () => {
      const x = values(size(s), 60 + sz);
      const out = await forward(oneNode('LRN', s, [], { size: sz, ...attrs }), { x: f64(s, x) });
      const want = lrnRef(x, s, sz, alpha, beta, bias);
      expectClose(out.y!, want);
      // the normalization is not negligible: a handler that ignored it would fail
      if (alpha > 1e-3) expect(Math.max(...want.map((v, i) => Math.abs(v - x[i]!)))).toBeGreaterThan(0.05);
    });

  it('even size: the window reaches one channel further above than below, clipped at the ends', async () => {
    // size 4: channels c - 1 .. c + 2; alpha / size = 1 and beta = 1, so y = 1 / (1 + window length) for x = 1
    const s = [1, 5, 1, 1];
    const out = await forward(oneNode('LRN', s, [], { size: 4, alpha: { f: 4 }, beta: { f: 1 }, bias: { f: 1 } }), { x: f64(s, [1, 1, 1, 1, 1]) });
    // c=0: 0..2 (3), c=1: 0..3 (4), c=2: 1..4 (4), c=3: 2..4 (3), c=4: 3..4 (2); the mirror window c-2 .. c+1 would give 2, 3, 4, 4, 3
    expectClose(out.y!, [3, 4, 4, 3, 2].map((k) => 1 / (1 + k)));
  });

  it('maps onto avg_pool2d and pow (no op of its own)', () => {
    const ops = irOps(oneNode('LRN', [1, 4, 2, 2], [], { size: 3 }));
    expect(ops).toContain('avg_pool2d');
    expect(ops).toContain('pow');
    expect(ops.every((o) => ['mul', 'reshape', 'avg_pool2d', 'add', 'pow'].includes(o)), ops.join()).toBe(true);
  });

  for (const sz of [3, 4])
    it(`size ${sz}: the gradient of a weight before it matches finite differences`, async () => {
      const s = [2, 5, 2, 2];
      const spec = afterWeight('LRN', s, [], { size: sz, alpha: 0.8, beta: 0.7, bias: 1.5 }, 70 + sz);
      await gradCheck(spec, f64(s, values(size(s), 71)), values(size(s), 72));
    });

  it('missing size, bad size, rank 3 or integer input fail at the node', () => {
    const missing = importError(oneNode('LRN', [1, 4, 2, 2], [], { alpha: 0.5 }));
    expect(missing.message).toMatch(/LRN 'n0'.*'size' is required/);
    expect(importError(oneNode('LRN', [1, 4, 2, 2], [], { size: 0 })).message).toMatch(/size must be a positive integer, got 0/);
    const r3 = importError(oneNode('LRN', [1, 4, 2], [], { size: 3 }));
    expect(r3.code).toBe('shape');
    expect(r3.message).toMatch(/input X must be \[N, C, H, W\] \(rank 4\), got shape \[1, ?4, ?2\]/);
    const int = importError({ nodes: [node('LRN', ['x'], ['y'], { size: 3 }, 'lrn')], inputs: [['x', 'int32', [1, 4, 2, 2]]], outputs: ['y'] });
    expect(int.code).toBe('dtype');
    expect(int.message).toMatch(/LRN 'lrn'.*input X must be a float tensor, got int32/);
  });
});
