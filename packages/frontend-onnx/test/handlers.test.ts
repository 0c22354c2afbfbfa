/**
 * Handlers and constant folding on small hand-built models, run on the CPU backend and compared
 * with values computed from the ONNX operator definitions.
 */
import { CpuBackend } from '@pockengine/backend-cpu';
import { Program, tensor, type Tensor } from '@pockengine/core';
import { describe, expect, it } from 'vitest';
import { SUPPORTED_OPS, importOnnx, type ImportOptions } from '../src/index.js';
import { buildModel, node, type ModelSpec } from './build.js';

async function run(spec: ModelSpec, feeds: Record<string, Tensor>, opts: ImportOptions = {}): Promise<Record<string, number[]>> {
  const m = importOnnx(buildModel(spec), opts);
  const p = Program.create(m.graph, new CpuBackend());
  const out = await p.step(feeds);
  return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, Array.from(t.data as ArrayLike<number>, Number)]));
}

const f32 = (shape: number[], values: number[]) => tensor('float32', shape, values);
const seq = (n: number, scale = 1) => Array.from({ length: n }, (_, i) => (i + 1) * scale);
const close = (a: number[], b: number[]) => {
  expect(a.length).toBe(b.length);
  a.forEach((v, i) => expect(v).toBeCloseTo(b[i]!, 4));
};

describe('constant folding', () => {
  it('folds Shape -> Gather -> Unsqueeze -> Concat -> Reshape chains so the IR keeps only compute', () => {
    const m = importOnnx(
      buildModel({
        nodes: [
          node('Shape', ['x'], ['s']),
          node('Constant', [], ['zero'], { value: tensor('int64', [], [0]) }),
          node('Gather', ['s', 'zero'], ['b'], { axis: 0 }),
          node('Constant', [], ['ax'], { value: tensor('int64', [1], [0]) }),
          node('Unsqueeze', ['b', 'ax'], ['b1']),
          node('Constant', [], ['minus1'], { value: tensor('int64', [1], [-1]) }),
          node('Concat', ['b1', 'minus1'], ['shape'], { axis: 0 }),
          node('Reshape', ['x', 'shape'], ['flat']),
          node('Relu', ['flat'], ['y']),
        ],
        inputs: [['x', 'float32', ['batch', 3, 4]]],
        outputs: ['y'],
      }),
      { inputShapes: { x: [2, 3, 4] } },
    );
    expect(m.graph.nodes.map((n) => n.op)).toEqual(['reshape', 'relu']);
    expect(m.graph.values[m.graph.outputs[0]!.value]!.shape).toEqual([2, 12]);
    expect(m.folded).toBe(7);
  });

  it('folds Range, ConstantOfShape, Trilu, Where, Cast, Slice and Expand into one constant mask', async () => {
    const spec: ModelSpec = {
      nodes: [
        node('Shape', ['x'], ['s'], { start: -1 }),
        node('Constant', [], ['z'], { value: tensor('int64', [], [0]) }),
        node('Squeeze', ['s', 'z'], ['n']),
        node('Constant', [], ['one'], { value: tensor('int64', [], [1]) }),
        node('Range', ['z', 'n', 'one'], ['r']),
        node('ConstantOfShape', ['s'], ['ones'], { value: tensor('float32', [1], [1]) }),
        node('Unsqueeze', ['ones', 'z'], ['row']),
        node('Concat', ['s', 's'], ['sq'], { axis: 0 }),
        node('Expand', ['row', 'sq'], ['full']),
        node('Trilu', ['full'], ['lower'], { upper: 0 }),
        node('Cast', ['lower'], ['keep'], { to: 9 }),
        node('Constant', [], ['ninf'], { value: tensor('float32', [], [-1e9]) }),
        node('Constant', [], ['zf'], { value: tensor('float32', [], [0]) }),
        node('Where', ['keep', 'zf', 'ninf'], ['mask']),
        node('Add', ['x', 'mask'], ['y']),
        node('Cast', ['r'], ['rf'], { to: 1 }),
        node('Add', ['y', 'rf'], ['out']),
      ],
      inputs: [['x', 'float32', [3, 3]]],
      outputs: ['out'],
    };
    const m = importOnnx(buildModel(spec));
    expect(m.graph.nodes.map((n) => n.op)).toEqual(['add', 'add']);
    const out = await run(spec, { x: f32([3, 3], [0, 0, 0, 0, 0, 0, 0, 0, 0]) });
    expect(out.out).toEqual([0, -1e9 + 1, -1e9 + 2, 0, 1, -1e9 + 2, 0, 1, 2].map(Math.fround));
  });

  it('treats float initializers as params even when everything else is constant', () => {
    const m = importOnnx(
      buildModel({
        nodes: [node('Transpose', ['W'], ['Wt'], { perm: [1, 0] }), node('MatMul', ['x', 'Wt'], ['y'])],
        inputs: [['x', 'float32', [2, 3]]],
        outputs: ['y'],
        initializers: [['W', f32([4, 3], seq(12))]],
      }),
    );
    expect(m.params).toEqual(['W']);
    expect(m.graph.nodes.map((n) => n.op)).toEqual(['transpose', 'matmul']);
  });

  it('lifts float Constant weights to params with liftConstants', () => {
    const spec: ModelSpec = {
      nodes: [node('Constant', [], ['w'], { value: f32([3], [1, 2, 3]) }, 'conv_w'), node('Mul', ['x', 'w'], ['y'])],
      inputs: [['x', 'float32', [3]]],
      outputs: ['y'],
    };
    expect(importOnnx(buildModel(spec)).params).toEqual([]);
    const lifted = importOnnx(buildModel(spec), { liftConstants: true });
    expect(lifted.params).toEqual(['w']);
    expect(lifted.graph.values.find((v) => v.name === 'w')!.role).toBe('param');
  });
});

describe('handlers', () => {
  it('Gemm with alpha, beta, transA, transB and a broadcast C', async () => {
    const A = seq(6); // stored [3,2], used transposed as [2,3]
    const B = seq(12, 0.5); // stored [4,3], used transposed as [3,4]
    const out = await run(
      {
        nodes: [node('Gemm', ['a', 'b', 'c'], ['y'], { alpha: 0.5, beta: { f: 2 }, transA: 1, transB: 1 })],
        inputs: [['a', 'float32', [3, 2]]],
        outputs: ['y'],
        initializers: [['b', f32([4, 3], B)], ['c', f32([4], [1, 2, 3, 4])]],
      },
      { a: f32([3, 2], A) },
    );
    const want: number[] = [];
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 4; j++) {
        let s = 0;
        for (let k = 0; k < 3; k++) s += A[k * 2 + i]! * B[j * 3 + k]!;
        want.push(0.5 * s + 2 * (j + 1));
      }
    close(out.y!, want);
  });

  it('MatMul with rank-1 operands and batch broadcasting', async () => {
    const out = await run(
      {
        nodes: [node('MatMul', ['v', 'm'], ['vm']), node('MatMul', ['b', 'v2'], ['bv']), node('MatMul', ['b', 'm2'], ['bm'])],
        inputs: [['v', 'float32', [2]], ['m', 'float32', [2, 3]], ['b', 'float32', [2, 2, 3]], ['v2', 'float32', [3]], ['m2', 'float32', [1, 3, 1]]],
        outputs: ['vm', 'bv', 'bm'],
      },
      { v: f32([2], [1, 2]), m: f32([2, 3], seq(6)), b: f32([2, 2, 3], seq(12)), v2: f32([3], [1, 0, -1]), m2: f32([1, 3, 1], [1, 1, 1]) },
    );
    expect(out.vm).toEqual([9, 12, 15]);
    expect(out.bv).toEqual([-2, -2, -2, -2]);
    expect(out.bm).toEqual([6, 15, 24, 33]);
  });

  it('Reshape resolves 0 and -1; Flatten, Squeeze and Unsqueeze in both opset forms', () => {
    const shapes = (opset: number, axesAsInput: boolean) => {
      const axes = axesAsInput ? ['x', 'ax'] : ['x'];
      const m = importOnnx(
        buildModel({
          opset,
          nodes: [
            node('Reshape', ['x', 'shape'], ['r']),
            node('Flatten', ['x'], ['f'], { axis: 2 }),
            node('Unsqueeze', axes, ['u'], axesAsInput ? {} : { axes: [0, -1] }),
            node('Squeeze', axesAsInput ? ['u', 'ax'] : ['u'], ['s'], axesAsInput ? {} : { axes: [0, -1] }),
          ],
          inputs: [['x', 'float32', [2, 3, 4]]],
          outputs: ['r', 'f', 'u', 's'],
          initializers: [['shape', tensor('int64', [3], [0, -1, 2])], ['ax', tensor('int64', [2], [0, -1])]],
        }),
      );
      return m.graph.outputs.map((o) => m.graph.values[o.value]!.shape);
    };
    const want = [[2, 6, 2], [6, 4], [1, 2, 3, 4, 1], [2, 3, 4]];
    expect(shapes(17, true)).toEqual(want);
    expect(shapes(11, false)).toEqual(want);
  });

  it('Conv: 1-D, SAME_UPPER auto_pad, groups and bias', async () => {
    const out = await run(
      {
        nodes: [node('Conv', ['x', 'w', 'b'], ['y'], { auto_pad: 'SAME_UPPER', strides: [2] })],
        inputs: [['x', 'float32', [1, 1, 5]]],
        outputs: ['y'],
        initializers: [['w', f32([1, 1, 2], [1, 10])], ['b', f32([1], [0.5])]],
      },
      { x: f32([1, 1, 5], [1, 2, 3, 4, 5]) },
    );
    // out = ceil(5/2) = 3, total pad = (3-1)*2 + 2 - 5 = 1, all at the end: windows [1,2] [3,4] [5,0]
    expect(out.y).toEqual([21.5, 43.5, 5.5]);
  });

  it('MaxPool, AveragePool (count_include_pad) and GlobalAveragePool', async () => {
    const x = f32([1, 1, 3, 3], seq(9));
    const out = await run(
      {
        nodes: [
          node('MaxPool', ['x'], ['mp'], { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 }),
          node('AveragePool', ['x'], ['ap'], { kernel_shape: [2, 2], pads: [1, 1, 0, 0], strides: [2, 2], count_include_pad: 1 }),
          node('GlobalAveragePool', ['x'], ['gp']),
        ],
        inputs: [['x', 'float32', [1, 1, 3, 3]]],
        outputs: ['mp', 'ap', 'gp'],
      },
      { x },
    );
    expect(out.mp).toEqual([5, 6, 8, 9]);
    expect(out.ap).toEqual([0.25, 1.25, 2.75, 7]);
    expect(out.gp).toEqual([5]);
  });

  it('Softmax before opset 13 normalizes over the flattened trailing dims', async () => {
    const x = f32([1, 2, 2], [0, 1, 2, 3]);
    const spec = (opset: number): ModelSpec => ({ opset, nodes: [node('Softmax', ['x'], ['y'], { axis: 1 })], inputs: [['x', 'float32', [1, 2, 2]]], outputs: ['y'] });
    const e = [0, 1, 2, 3].map(Math.exp);
    const all = e.reduce((a, b) => a + b);
    close((await run(spec(11), { x })).y!, e.map((v) => v / all));
    close((await run(spec(13), { x })).y!, [e[0]! / (e[0]! + e[2]!), e[1]! / (e[1]! + e[3]!), e[2]! / (e[0]! + e[2]!), e[3]! / (e[1]! + e[3]!)]);
  });

  it('Reduce ops: axes as attribute or input by opset, keepdims, noop_with_empty_axes', async () => {
    const x = f32([2, 3], seq(6));
    const out = await run(
      {
        opset: 18,
        nodes: [
          node('ReduceSum', ['x', 'a1'], ['s']),
          node('ReduceMean', ['x', 'a0'], ['m'], { keepdims: 0 }),
          node('ReduceMax', ['x'], ['mx'], { keepdims: 0 }),
          node('ReduceMin', ['x', 'a1'], ['mn'], { keepdims: 0 }),
          node('ReduceSum', ['x'], ['id'], { noop_with_empty_axes: 1 }),
        ],
        inputs: [['x', 'float32', [2, 3]]],
        outputs: ['s', 'm', 'mx', 'mn', 'id'],
        initializers: [['a1', tensor('int64', [1], [1])], ['a0', tensor('int64', [1], [-2])]],
      },
      { x },
    );
    expect(out).toEqual({ s: [6, 15], m: [2.5, 3.5, 4.5], mx: [6], mn: [1, 4], id: seq(6) });
  });

  it('Clip bounds from attributes (opset 6) and optional inputs (opset 13)', async () => {
    const x = f32([4], [-2, 0.5, 3, 9]);
    const old = await run({ opset: 7, nodes: [node('Clip', ['x'], ['y'], { min: { f: 0 }, max: { f: 6 } })], inputs: [['x', 'float32', [4]]], outputs: ['y'] }, { x });
    expect(old.y).toEqual([0, 0.5, 3, 6]);
    const onlyMax = await run(
      { nodes: [node('Clip', ['x', '', 'hi'], ['y'])], inputs: [['x', 'float32', [4]]], outputs: ['y'], initializers: [['hi', f32([], [1])]] },
      { x },
    );
    expect(onlyMax.y).toEqual([-2, 0.5, 1, 1]);
  });

  it('Split by sizes (opset 13 input) and into equal parts (opset 18 num_outputs); Pad with negative pads', async () => {
    const x = f32([5], seq(5));
    const s13 = await run(
      { opset: 13, nodes: [node('Split', ['x', 'sp'], ['a', 'b'])], inputs: [['x', 'float32', [5]]], outputs: ['a', 'b'], initializers: [['sp', tensor('int64', [2], [2, 3])]] },
      { x },
    );
    expect(s13).toEqual({ a: [1, 2], b: [3, 4, 5] });
    const s18 = await run({ opset: 18, nodes: [node('Split', ['x'], ['a', 'b', 'c'], { num_outputs: 3 })], inputs: [['x', 'float32', [5]]], outputs: ['a', 'b', 'c'] }, { x });
    expect(s18).toEqual({ a: [1, 2], b: [3, 4], c: [5] });
    const pad = await run(
      { nodes: [node('Pad', ['x', 'p', 'v'], ['y'])], inputs: [['x', 'float32', [5]]], outputs: ['y'], initializers: [['p', tensor('int64', [2], [2, -2])], ['v', f32([], [-1])]] },
      { x },
    );
    expect(pad.y).toEqual([-1, -1, 1, 2, 3]);
  });

  it('Tile, Trilu and Expand on computed inputs; Gather with negative constant indices', async () => {
    const x = f32([2, 2], [1, 2, 3, 4]);
    const out = await run(
      {
        nodes: [
          node('Tile', ['x', 'reps'], ['t']),
          node('Trilu', ['x'], ['u']),
          node('Expand', ['x', 'shape'], ['e']),
          node('Gather', ['x', 'idx'], ['g'], { axis: 1 }),
        ],
        inputs: [['x', 'float32', [2, 2]]],
        outputs: ['t', 'u', 'e', 'g'],
        initializers: [['reps', tensor('int64', [2], [1, 2])], ['shape', tensor('int64', [3], [2, 1, 1])], ['idx', tensor('int64', [1], [-1])]],
      },
      { x },
    );
    expect(out.t).toEqual([1, 2, 1, 2, 3, 4, 3, 4]);
    expect(out.u).toEqual([1, 2, 0, 4]);
    expect(out.e).toEqual([1, 2, 3, 4, 1, 2, 3, 4]);
    expect(out.g).toEqual([2, 4]);
  });

  it('BatchNormalization in train mode normalizes with batch statistics and updates running stats as PyTorch', async () => {
    const xs = [1, 2, 3, 4, 10, 20, 30, 40]; // [2, 2, 2]: channel 0 = 1,2,10,20; channel 1 = 3,4,30,40
    const spec: ModelSpec = {
      nodes: [node('BatchNormalization', ['x', 'g', 'b', 'rm', 'rv'], ['y', 'rm_out', 'rv_out'], { epsilon: { f: 1e-5 }, momentum: 0.9, training_mode: 1 })],
      inputs: [['x', 'float32', [2, 2, 2]]],
      outputs: ['y'],
      initializers: [['g', f32([2], [1, 2])], ['b', f32([2], [0, 1])], ['rm', f32([2], [0, 0])], ['rv', f32([2], [1, 1])]],
    };
    const m = importOnnx(buildModel(spec), { batchNorm: 'train' });
    expect(m.buffers).toEqual(['rm', 'rv']);
    expect(m.graph.updates.length).toBe(2);
    const p = Program.create(m.graph, new CpuBackend());
    const y = Array.from((await p.step({ x: f32([2, 2, 2], xs) })).y!.data as Float32Array);
    const ch = [[1, 2, 10, 20], [3, 4, 30, 40]];
    const mean = ch.map((c) => c.reduce((a, b) => a + b) / 4);
    const varB = ch.map((c, k) => c.reduce((a, v) => a + (v - mean[k]!) ** 2, 0) / 4);
    close([y[0]!, y[2]!], [(1 - mean[0]!) / Math.sqrt(varB[0]! + 1e-5), (3 - mean[1]!) / Math.sqrt(varB[1]! + 1e-5) * 2 + 1]);
    // running = 0.9 * running + 0.1 * batch, with the unbiased variance (n / (n - 1))
    close(Array.from((await p.read('rm')).data as Float32Array), mean.map((v) => 0.1 * v));
    close(Array.from((await p.read('rv')).data as Float32Array), varB.map((v) => 0.9 + 0.1 * v * (4 / 3)));

    const frozen = importOnnx(buildModel(spec), { batchNorm: 'frozen' });
    expect(frozen.graph.updates.length).toBe(0);
    expect(frozen.graph.nodes.map((n) => [n.op, n.attrs.training])).toEqual([['batch_norm', false]]);
  });

  it('Dropout: identity when off; the dropout op with a step counter when on', async () => {
    const spec: ModelSpec = {
      nodes: [node('Dropout', ['x', 'ratio', 'train'], ['y', 'mask'])],
      inputs: [['x', 'float32', [1000]]],
      outputs: ['y'],
      initializers: [['ratio', f32([], [0.25])], ['train', tensor('bool', [], [1])]],
    };
    expect(importOnnx(buildModel(spec)).graph.nodes).toEqual([]);
    const on = importOnnx(buildModel(spec), { dropout: 'on' });
    expect(on.graph.nodes.map((n) => n.op)).toEqual(['add', 'dropout']);
    expect(on.graph.values.find((v) => v.name === '@dropout_counter')).toMatchObject({ role: 'state', dtype: 'int32', shape: [] });
    const p = Program.create(on.graph, new CpuBackend());
    const feeds = { x: f32([1000], new Array<number>(1000).fill(1)) };
    const a = Array.from((await p.step(feeds)).y!.data as Float32Array);
    const b = Array.from((await p.step(feeds)).y!.data as Float32Array);
    const kept = a.filter((v) => v !== 0);
    expect(kept.every((v) => Math.abs(v - 1 / 0.75) < 1e-6)).toBe(true);
    expect(kept.length).toBeGreaterThan(650);
    expect(kept.length).toBeLessThan(850);
    expect(a).not.toEqual(b);
  });
});

it('exports a sorted coverage table', () => {
  const ops = SUPPORTED_OPS.map((o) => o.op);
  expect(ops).toEqual([...ops].sort());
  for (const op of ['Conv', 'BatchNormalization', 'Gemm', 'MatMul', 'LayerNormalization', 'Softmax', 'Reshape', 'Dropout'])
    expect(SUPPORTED_OPS.find((o) => o.op === op)?.compute, op).toBe(true);
  expect(SUPPORTED_OPS.find((o) => o.op === 'Range')).toMatchObject({ compute: false, folds: true });
});
