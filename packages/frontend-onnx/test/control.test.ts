/**
 * If with a condition known at import time (a folded shape check) imports the chosen branch
 * inline; a run-time condition fails at the node; unsupported ops inside branches are listed with
 * the rest. Pooling over three spatial axes with trivial windows on all but two of them (the
 * AveragePool of PyTorch's LocalResponseNorm export) folds those axes into the channels. PyTorch's
 * LocalResponseNorm export itself is checked in exporters.test.ts.
 */
import { CpuBackend } from '@pockengine/backend-cpu';
import { PockError, Program, tensor } from '@pockengine/core';
import { describe, expect, it } from 'vitest';
import { importOnnx } from '../src/index.js';
import { buildModel, node, subgraph } from './build.js';

const vals = (n: number, seed: number) => Array.from({ length: n }, (_, i) => Math.fround(Math.sin(i * 0.91 + seed) * 2));

async function run(bytes: Uint8Array, x: number[], shape: number[]): Promise<{ shape: number[]; y: number[] }> {
  const m = importOnnx(bytes, { floatType: 'float64', file: 'm.onnx' });
  const p = Program.create(m.graph, new CpuBackend());
  const y = (await p.step({ x: tensor('float64', shape, x) })).y!;
  p.dispose();
  return { shape: [...y.shape], y: Array.from(y.data as Float64Array) };
}

/** y = If(shape(x)[1] == dim) then x * w (w a branch initializer) else x + outer bias. */
function ifModel(dim: number, extra: Parameters<typeof node>[0] = 'Mul'): Uint8Array {
  return buildModel({
    nodes: [
      node('Shape', ['x'], ['s']),
      node('Gather', ['s', 'one'], ['d'], { axis: 0 }),
      node('Equal', ['d', 'dim'], ['cond']),
      node('If', ['cond'], ['y'], {
        then_branch: subgraph([node(extra, ['x', 'w'], ['t'], {}, 'then_op')], ['t'], [['w', tensor('float32', [3], [2, -1, 0.5])]]),
        else_branch: subgraph([node('Add', ['x', 'bias'], ['e'], {}, 'else_op')], ['e']),
      }, 'check'),
    ],
    inputs: [['x', 'float32', [2, 3]]],
    outputs: ['y'],
    initializers: [['one', tensor('int64', [], [1])], ['dim', tensor('int64', [], [dim])], ['bias', tensor('float32', [3], [10, 20, 30])]],
  });
}

describe('If with a condition known at import time', () => {
  const x = [1, 2, 3, 4, 5, 6];
  it('imports the then branch (with its own initializer, trainable) when the shape check holds', async () => {
    const m = importOnnx(ifModel(3));
    expect(m.params).toContain('w');
    expect((await run(ifModel(3), x, [2, 3])).y).toEqual([2, -2, 1.5, 8, -5, 3]);
  });
  it('imports the else branch (reading an outer value) otherwise', async () => {
    expect((await run(ifModel(4), x, [2, 3])).y).toEqual([11, 22, 33, 14, 25, 36]);
  });
  it('fails at the node for a condition computed at run time', () => {
    const bytes = buildModel({
      nodes: [
        node('ReduceSum', ['x'], ['s'], { keepdims: 0 }),
        node('Greater', ['s', 'zero'], ['cond']),
        node('If', ['cond'], ['y'], { then_branch: subgraph([node('Neg', ['x'], ['t'])], ['t']), else_branch: subgraph([node('Abs', ['x'], ['e'])], ['e']) }, 'gate'),
      ],
      inputs: [['x', 'float32', [2, 3]]],
      outputs: ['y'],
      initializers: [['zero', tensor('float32', [], [0])]],
    });
    let err: unknown;
    try {
      importOnnx(bytes, { file: 'm.onnx' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PockError);
    expect((err as PockError).code).toBe('unsupported-op');
    expect((err as Error).message).toMatch(/If 'gate'.*computed at run time/s);
  });
  it('lists unsupported ops inside branches with the rest', () => {
    expect(() => importOnnx(ifModel(3, 'Det'), { file: 'm.onnx' })).toThrowError(/Det: 1 node\(s\) 'then_op'/);
  });
});

describe('pooling over three spatial axes', () => {
  /** max / average over a [k, 1, 1] window with stride 1 and pads along D (count_include_pad 0). */
  function reference(kind: 'max' | 'avg', x: number[], [n, c, d, h, w]: number[], k: number, pb: number, pe: number): number[] {
    const od = d + pb + pe - k + 1;
    const out: number[] = [];
    for (let a = 0; a < n; a++)
      for (let ch = 0; ch < c; ch++)
        for (let o = 0; o < od; o++)
          for (let i = 0; i < h; i++)
            for (let j = 0; j < w; j++) {
              const cells: number[] = [];
              for (let t = 0; t < k; t++) {
                const z = o - pb + t;
                if (z >= 0 && z < d) cells.push(x[(((a * c + ch) * d + z) * h + i) * w + j]!);
              }
              out.push(kind === 'max' ? Math.max(...cells) : cells.reduce((p, v) => p + v, 0) / cells.length);
            }
    return out;
  }
  for (const kind of ['max', 'avg'] as const)
    it(`${kind} pool with a [3, 1, 1] window and pads along D`, async () => {
      const shape = [2, 2, 5, 3, 4];
      const x = vals(shape.reduce((p, v) => p * v, 1), kind === 'max' ? 1 : 2);
      const bytes = buildModel({
        nodes: [node(kind === 'max' ? 'MaxPool' : 'AveragePool', ['x'], ['y'], { kernel_shape: [3, 1, 1], pads: [1, 0, 0, 2, 0, 0] }, 'pool')],
        inputs: [['x', 'float32', shape]],
        outputs: ['y'],
      });
      const got = await run(bytes, x, shape);
      expect(got.shape).toEqual([2, 2, 6, 3, 4]);
      const want = reference(kind, x, shape, 3, 1, 2);
      expect(Math.max(...got.y.map((v, i) => Math.abs(v - want[i]!)))).toBeLessThan(1e-12);
    });
  it('a window over three of four spatial axes fails at the node (3-D windows run as depth taps)', () => {
    const bytes = buildModel({ nodes: [node('MaxPool', ['x'], ['y'], { kernel_shape: [2, 2, 2, 1] }, 'pool3')], inputs: [['x', 'float32', [1, 1, 4, 4, 4, 2]]], outputs: ['y'] });
    expect(() => importOnnx(bytes, { file: 'm.onnx' })).toThrowError(/MaxPool 'pool3'.*all but two axes/s);
  });
});
