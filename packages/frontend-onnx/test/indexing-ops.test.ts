/**
 * Index-driven ops (GatherElements, ScatterElements, GatherND, ScatterND, TopK, OneHot) and the
 * ops composed of core ops or mapped to new ones (Floor, Ceil, Round, Asin, Acos, Atan, Tan, Sinh, Cosh, Asinh, Acosh, Atanh, IsNaN, IsInf, ReduceL1,
 * ReduceLogSum, ReduceLogSumExp, ArgMin, Hardmax, ThresholdedRelu, Shrink) and GridSample: forward outputs
 * against onnxruntime-node running the same single-node model (computed indices, negative ones,
 * ties), parameter gradients against central differences (float64), and out-of-range indices
 * failing with a located error.
 */
import { CpuBackend } from '@pockengine/backend-cpu';
import { PockError, Program, tensor, type Tensor } from '@pockengine/core';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { importOnnx } from '../src/index.js';
import { buildModel, node, type AttrValue, type ModelSpec } from './build.js';
import { gradCheck, values } from './handler-helpers.js';

const require = createRequire(import.meta.url);
let ort: typeof import('onnxruntime-node') | undefined;
let ortError = '';
try {
  ort = require('onnxruntime-node') as typeof import('onnxruntime-node');
} catch (e) {
  ortError = String(e);
}

const i64 = (shape: number[], data: number[]) => tensor('int64', shape, data);
const f32 = (shape: number[], data: number[]) => tensor('float32', shape, data);
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** `op(inputs...) -> outputs` as a model whose graph inputs are the feeds (so indices are computed, not constants). */
function model(op: string, feeds: Record<string, Tensor>, attrs: Record<string, AttrValue>, opset: number, outputs = ['y'], inits: [string, Tensor][] = []): ModelSpec {
  return {
    nodes: [node(op, [...Object.keys(feeds), ...inits.map(([n]) => n)], outputs, attrs, 'n0')],
    inputs: Object.entries(feeds).map(([n, t]) => [n, t.dtype, [...t.shape]]),
    outputs,
    initializers: inits,
    opset,
  };
}

function toOrt(t: Tensor) {
  const rt = ort!;
  if (t.dtype === 'int64') return new rt.Tensor('int64', BigInt64Array.from(Array.from(t.data as ArrayLike<number | bigint>, (v) => BigInt(v))), [...t.shape]);
  if (t.dtype === 'bool') return new rt.Tensor('bool', Uint8Array.from(Array.from(t.data as ArrayLike<number>, (v) => (v ? 1 : 0))), [...t.shape]);
  return new rt.Tensor('float32', Float32Array.from(t.data as ArrayLike<number>), [...t.shape]);
}

/** Our outputs and onnxruntime's for the same model and feeds: equal shapes, values within 2e-6 relative (exact for integers and bools). */
async function matchOrt(spec: ModelSpec, feeds: Record<string, Tensor>, inits: [string, Tensor][] = []): Promise<Record<string, number[]>> {
  const bytes = buildModel({ ...spec, initializers: inits.length ? inits : spec.initializers });
  const p = Program.create(importOnnx(bytes).graph, new CpuBackend());
  const ours = await p.step(feeds);
  p.dispose();
  const session = await ort!.InferenceSession.create(bytes);
  const theirs = await session.run(Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, toOrt(t)])));
  const out: Record<string, number[]> = {};
  for (const name of spec.outputs) {
    const want = theirs[name]!;
    const got = ours[name]!;
    expect([...got.shape], `${name} shape`).toEqual([...want.dims]);
    const w = Array.from(want.data as ArrayLike<number | bigint | boolean>, Number);
    const g = Array.from(got.data as ArrayLike<number>, Number);
    const bad = g.flatMap((v, i) => (Object.is(v, w[i]) || Math.abs(v - w[i]!) <= 2e-6 * Math.max(1, Math.abs(w[i]!)) ? [] : [`[${i}] ${v} vs ${w[i]}`]));
    expect(bad, `${name}: ours vs onnxruntime`).toEqual([]);
    out[name] = g;
  }
  return out;
}

const x34 = f32([3, 4], values(12, 1));

describe.skipIf(!ort)(`index-driven ops match onnxruntime${ort ? '' : ` (onnxruntime-node unavailable: ${ortError})`}`, () => {
  it('GatherElements on both axes, computed and negative indices, a shorter index tensor', async () => {
    const idx = i64([3, 2], [0, -1, 3, 2, -4, 1]);
    await matchOrt(model('GatherElements', { x: x34, idx }, { axis: 1 }, 13), { x: x34, idx });
    const idx0 = i64([2, 4], [2, 0, -1, 1, 0, 0, 1, 2]);
    await matchOrt(model('GatherElements', { x: x34, idx: idx0 }, { axis: 0 }, 13), { x: x34, idx: idx0 });
  });

  it('ScatterElements (and Scatter) with reduction none and add', async () => {
    const idx = i64([3, 2], [1, 3, 0, -1, 2, 1]);
    const upd = f32([3, 2], values(6, 2));
    await matchOrt(model('ScatterElements', { x: x34, idx, upd }, { axis: 1 }, 13), { x: x34, idx, upd });
    await matchOrt(model('ScatterElements', { x: x34, idx, upd }, { axis: 1, reduction: 'add' }, 16), { x: x34, idx, upd });
    const idx0 = i64([1, 4], [2, 0, 1, 1]);
    const upd0 = f32([1, 4], values(4, 3));
    await matchOrt(model('Scatter', { x: x34, idx: idx0, upd: upd0 }, { axis: 0 }, 9), { x: x34, idx: idx0, upd: upd0 });
  });

  it('GatherND: whole-slice and element tuples, negative components, batch_dims 1', async () => {
    const x = f32([2, 3, 4], values(24, 4));
    for (const [idx, bd] of [
      [i64([2, 2], [1, -1, 0, 1]), 0],
      [i64([2, 1, 3], [1, 2, 3, 0, -3, -1]), 0],
      [i64([1], [1]), 0],
      [i64([2, 1], [2, 0]), 1],
      [i64([2, 2, 2], [0, 1, 2, 3, 1, 0, 0, -1]), 1],
    ] as [Tensor, number][]) await matchOrt(model('GatherND', { x, idx }, { batch_dims: bd }, 13), { x, idx });
  });

  it('ScatterND with reduction none and add', async () => {
    const x = f32([4, 3], values(12, 5));
    const idx = i64([2, 1], [1, -1]);
    const upd = f32([2, 3], values(6, 6));
    await matchOrt(model('ScatterND', { x, idx, upd }, {}, 13), { x, idx, upd });
    await matchOrt(model('ScatterND', { x, idx, upd }, { reduction: 'add' }, 16), { x, idx, upd });
    const x3 = f32([2, 3, 4], values(24, 7));
    const idx3 = i64([2, 2], [0, 2, 1, 0]);
    const upd3 = f32([2, 4], values(8, 8));
    await matchOrt(model('ScatterND', { x: x3, idx: idx3, upd: upd3 }, {}, 13), { x: x3, idx: idx3, upd: upd3 });
  });

  it('TopK: largest and smallest, both axes, ties in index order, k as attribute (opset 9)', async () => {
    const x = f32([3, 6], [3, 1, 3, -2, 5, 0, 1, 1, 1, 1, 1, 1, -1, 4, 2, 4, -5, 0]);
    const k = i64([1], [3]);
    for (const attrs of [{}, { largest: 0 }, { axis: 0 }, { axis: 0, largest: 0 }] as Record<string, number>[]) {
      const kk = attrs.axis === 0 ? i64([1], [2]) : k;
      await matchOrt(model('TopK', { x }, attrs, 11, ['v', 'i'], [['k', kk]]), { x });
    }
    await matchOrt(model('TopK', { x }, { k: 4 }, 9, ['v', 'i']), { x });
  });

  it('TopK picks -inf entries in index order once the finite ones are taken', async () => {
    const x = f32([1, 5], [-Infinity, 2, -Infinity, 1, -Infinity]);
    const out = await matchOrt(model('TopK', { x }, {}, 11, ['v', 'i'], [['k', i64([1], [4])]]), { x });
    expect(out.i).toEqual([1, 3, 0, 2]);
  });

  it('OneHot on both ends, negative and out-of-range indices', async () => {
    const idx = i64([2, 3], [0, 4, -1, 2, 7, -5]);
    const depth = i64([], [5]);
    const vals = f32([2], [0.5, 2]);
    for (const axis of [-1, 0, 1]) await matchOrt(model('OneHot', { idx }, { axis }, 11, ['y'], [['depth', depth], ['values', vals]]), { idx });
  });

  it('unary compositions: Tan, Sinh, Cosh, Asinh, Acosh, Atanh, IsNaN, IsInf', async () => {
    const x = f32([8], [-3.5, -1.2, -0.3, 0, 0.4, 1.1, 2.5, 6]);
    for (const op of ['Tan', 'Sinh', 'Cosh', 'Asinh']) await matchOrt(model(op, { x }, {}, 13), { x });
    const big = f32([5], [1, 1.001, 1.5, 4, 1e4]);
    await matchOrt(model('Acosh', { x: big }, {}, 13), { x: big });
    const unit = f32([5], [-0.99, -0.5, 0, 0.3, 0.9]);
    for (const op of ['Atanh', 'Asin', 'Acos', 'Atan']) await matchOrt(model(op, { x: unit }, {}, 13), { x: unit });
    const odd = f32([5], [NaN, Infinity, -Infinity, 0, -2]);
    await matchOrt(model('IsNaN', { x: odd }, {}, 13), { x: odd });
    for (const attrs of [{}, { detect_negative: 0 }, { detect_positive: 0 }] as Record<string, AttrValue>[]) await matchOrt(model('IsInf', { x: odd }, attrs, 13), { x: odd });
  });

  it('reductions and arg ops: ReduceL1, ReduceLogSum, ReduceLogSumExp (axes as attribute and input), ArgMin, Hardmax', async () => {
    const x = f32([2, 3, 4], values(24, 9, -3, 3));
    const pos = f32([2, 3, 4], values(24, 10, 0.1, 3));
    await matchOrt(model('ReduceL1', { x }, { axes: [1], keepdims: 0 }, 13), { x });
    await matchOrt(model('ReduceLogSum', { x: pos }, { axes: [0, 2] }, 13), { x: pos });
    await matchOrt(model('ReduceLogSumExp', { x }, { axes: [-1], keepdims: 0 }, 13), { x });
    await matchOrt(model('ReduceLogSumExp', { x }, {}, 18, ['y'], [['axes', i64([1], [1])]]), { x });
    const large = f32([2, 2], [1000, 999, -Infinity, 3]);
    await matchOrt(model('ReduceLogSumExp', { x: large }, { axes: [1] }, 13), { x: large });
    const ties = f32([2, 4], [3, -1, -1, 2, 0, 5, 0, 5]);
    await matchOrt(model('ArgMin', { x: ties }, { axis: 1 }, 13), { x: ties });
    await matchOrt(model('ArgMin', { x }, { axis: 0, keepdims: 0 }, 13), { x });
    await matchOrt(model('Hardmax', { x: ties }, {}, 13), { x: ties });
    await matchOrt(model('Hardmax', { x }, { axis: 1 }, 11), { x });
  });

  it('Floor, Ceil and Round (half to even) on computed tensors', async () => {
    const x = f32([10], [-2.5, -1.5, -0.5, -0.2, 0.5, 1.5, 2.5, 2.7, -3.7, 4]);
    for (const op of ['Floor', 'Ceil', 'Round']) await matchOrt(model(op, { x }, {}, 13), { x });
  });

  it('GridSample: bilinear and nearest, zeros / border / reflection padding, align_corners, grids past the edges', async () => {
    const x = f32([2, 3, 4, 5], values(120, 19));
    const grid = f32([2, 3, 4, 2], values(48, 20, -1.4, 1.4));
    for (const mode of ['bilinear', 'nearest'])
      for (const padding_mode of ['zeros', 'border', 'reflection'])
        for (const align_corners of [0, 1]) await matchOrt(model('GridSample', { x, grid }, { mode, padding_mode, align_corners }, 16), { x, grid });
    // opset 20 names the mode 'linear'
    const g1 = f32([1, 2, 2, 2], [0.1, 0.2, -1, 1, 0.99, -0.5, 0.3, 0.3]);
    const x1 = f32([1, 1, 3, 3], values(9, 21));
    await matchOrt(model('GridSample', { x: x1, grid: g1 }, { mode: 'linear' }, 20), { x: x1, grid: g1 });
  });

  it('3-D Conv (strides, pads, dilations, groups, bias, SAME_UPPER) and 3-D MaxPool / AveragePool', async () => {
    const x = f32([2, 4, 5, 6, 7], values(2 * 4 * 5 * 6 * 7, 24));
    const w = f32([6, 2, 3, 2, 3], values(6 * 2 * 18, 25, -0.5, 0.5));
    const bias = f32([6], values(6, 26));
    const conv = (attrs: Record<string, AttrValue>, withBias = true) => model('Conv', { x }, attrs, 13, ['y'], withBias ? [['w', w], ['b', bias]] : [['w', w]]);
    await matchOrt(conv({ group: 2 }), { x });
    await matchOrt(conv({ group: 2, strides: [2, 1, 2], pads: [1, 0, 2, 0, 1, 1], dilations: [2, 1, 1] }), { x });
    await matchOrt(conv({ group: 2, strides: [2, 2, 1], auto_pad: 'SAME_UPPER' }, false), { x });
    for (const attrs of [
      { kernel_shape: [2, 3, 2] },
      { kernel_shape: [3, 2, 3], strides: [2, 2, 1], pads: [1, 1, 0, 1, 0, 1] },
      { kernel_shape: [2, 2, 2], dilations: [2, 1, 2] },
    ] as Record<string, AttrValue>[]) await matchOrt(model('MaxPool', { x }, attrs, 13), { x });
    for (const attrs of [
      { kernel_shape: [3, 2, 2], strides: [2, 1, 2], pads: [1, 0, 1, 1, 1, 0] },
      { kernel_shape: [3, 2, 2], strides: [2, 1, 2], pads: [1, 0, 1, 1, 1, 0], count_include_pad: 1 },
    ] as Record<string, AttrValue>[]) await matchOrt(model('AveragePool', { x }, attrs, 13), { x });
  });

  it('ThresholdedRelu and Shrink', async () => {
    const x = f32([8], [-3, -0.6, -0.5, -0.1, 0.2, 0.5, 1, 2.5]);
    await matchOrt(model('ThresholdedRelu', { x }, {}, 13), { x });
    await matchOrt(model('ThresholdedRelu', { x }, { alpha: 0.3 }, 13), { x });
    await matchOrt(model('Shrink', { x }, {}, 13), { x });
    await matchOrt(model('Shrink', { x }, { lambd: 0.4, bias: 0.25 }, 13), { x });
  });
});

/** y = op(x * w, ...rest): the gradient of w flows through op (rest are constant initializers). */
function throughOp(op: string, xShape: number[], rest: [string, Tensor][], attrs: Record<string, AttrValue>, opset: number, output = 'y'): ModelSpec {
  return {
    nodes: [node('Mul', ['x', 'w'], ['t']), node(op, ['t', ...rest.map(([n]) => n)], output === 'y' ? ['y'] : ['y', output], attrs, 'n0')],
    inputs: [['x', 'float32', xShape]],
    outputs: ['y'],
    initializers: [['w', f32(xShape, values(size(xShape), 11, 0.5, 1.5))], ...rest],
    opset,
  };
}

describe('gradients of the index-driven ops against central differences (float64)', () => {
  const x = tensor('float64', [3, 4], values(12, 12));
  const target = (n: number) => values(n, 13);

  it('GatherElements and ScatterElements (data and updates)', async () => {
    await gradCheck(throughOp('GatherElements', [3, 4], [['i', i64([3, 2], [0, -1, 3, 3, 1, 1])]], { axis: 1 }, 13), x, target(6));
    const spec = throughOp('ScatterElements', [3, 4], [['i', i64([2, 4], [2, 0, 1, 1, 0, 2, 0, 2])], ['u', f32([2, 4], values(8, 14))]], { axis: 0 }, 13);
    // u is a float initializer too: its gradient is checked as well
    await gradCheck(spec, x, target(12));
  });

  it('GatherND and ScatterND', async () => {
    const x3 = tensor('float64', [2, 3, 2], values(12, 15));
    await gradCheck(throughOp('GatherND', [2, 3, 2], [['i', i64([2, 2], [1, 2, 0, -1])]], {}, 13), x3, target(4));
    await gradCheck(throughOp('GatherND', [2, 3, 2], [['i', i64([2, 1], [1, 0])]], { batch_dims: 1 }, 13), x3, target(4));
    await gradCheck(throughOp('ScatterND', [2, 3, 2], [['i', i64([2, 2], [1, 2, 0, 0])], ['u', f32([2, 2], values(4, 16))]], { reduction: 'add' }, 16), x3, target(12));
  });

  it('TopK values and ReduceLogSumExp', async () => {
    await gradCheck(throughOp('TopK', [3, 4], [['k', i64([1], [2])]], {}, 11, 'idx'), x, target(6));
    await gradCheck(throughOp('ReduceLogSumExp', [3, 4], [], { axes: [1] }, 13), x, target(3));
  });

  it('GridSample (bilinear): the gradients of the image and of the grid', async () => {
    const xg = tensor('float64', [1, 2, 3, 4], values(24, 22));
    for (const [padding_mode, align_corners] of [['zeros', 0], ['border', 1], ['reflection', 0]] as [string, number][]) {
      const spec = throughOp('GridSample', [1, 2, 3, 4], [['g', f32([1, 2, 3, 2], values(12, 23, -1.3, 1.3))]], { padding_mode, align_corners }, 16);
      await gradCheck(spec, xg, target(12));
    }
  });

  it('3-D Conv (weight and bias) and 3-D pooling after it', async () => {
    const x5 = tensor('float64', [1, 2, 4, 3, 3], values(72, 27));
    const conv: ModelSpec = {
      nodes: [node('Mul', ['x', 'w'], ['t']), node('Conv', ['t', 'k', 'kb'], ['y'], { strides: [2, 1, 1], pads: [1, 0, 1, 0, 1, 0] })],
      inputs: [['x', 'float32', [1, 2, 4, 3, 3]]],
      outputs: ['y'],
      initializers: [['w', f32([1, 2, 4, 3, 3], values(72, 28, 0.5, 1.5))], ['k', f32([3, 2, 2, 2, 2], values(48, 29, -0.5, 0.5))], ['kb', f32([3], values(3, 30))]],
      opset: 13,
    };
    // output [1, 3, 2, 3, 3]
    await gradCheck(conv, x5, target(54));
    for (const op of ['MaxPool', 'AveragePool']) {
      const spec: ModelSpec = {
        nodes: [node('Mul', ['x', 'w'], ['t']), node(op, ['t'], ['y'], { kernel_shape: [2, 2, 2], strides: [1, 1, 2], pads: [1, 0, 0, 0, 1, 1] })],
        inputs: [['x', 'float32', [1, 2, 4, 3, 3]]],
        outputs: ['y'],
        initializers: [['w', f32([1, 2, 4, 3, 3], values(72, 31, 0.5, 1.5))]],
        opset: 13,
      };
      await gradCheck(spec, x5, target(2 * 4 * 3 * 2));
    }
  });

  it('Tan, Sinh, Asinh, Atanh, Shrink', async () => {
    const small = tensor('float64', [3, 4], values(12, 17, -0.6, 0.6));
    for (const op of ['Tan', 'Sinh', 'Asinh', 'Atanh']) await gradCheck(throughOp(op, [3, 4], [], {}, 13), small, target(12));
    await gradCheck(throughOp('Shrink', [3, 4], [], { lambd: 0.2, bias: 0.1 }, 13), x, target(12));
  });
});

describe('index errors', () => {
  it('an out-of-range computed index fails at run time with an input error, not a read of another element', async () => {
    const idx = i64([3, 2], [0, 4, 1, 1, 2, 2]);
    const p = Program.create(importOnnx(buildModel(model('GatherElements', { x: x34, idx }, { axis: 1 }, 13))).graph, new CpuBackend());
    await expect(p.step({ x: x34, idx })).rejects.toThrow(PockError);
    const nd = i64([1, 2], [0, 4]);
    const q = Program.create(importOnnx(buildModel(model('GatherND', { x: x34, idx: nd }, {}, 13))).graph, new CpuBackend());
    await expect(q.step({ x: x34, idx: nd })).rejects.toThrow(/out of range/);
  });

  it('a computed k, a reduction it cannot do and a too-large k fail at the node', () => {
    const x = f32([2, 300], values(600, 18));
    const at = (spec: ModelSpec) => {
      try {
        importOnnx(buildModel(spec));
      } catch (e) {
        expect(e).toBeInstanceOf(PockError);
        expect((e as PockError).message).toContain('n0');
        return (e as PockError).message;
      }
      throw new Error('expected the import to fail');
    };
    expect(at(model('TopK', { x, k: i64([1], [2]) }, {}, 11, ['v', 'i']))).toMatch(/constant/);
    expect(at(model('TopK', { x }, {}, 11, ['v', 'i'], [['k', i64([1], [257])]]))).toMatch(/256/);
    expect(at(model('ScatterElements', { x, i: i64([2, 300], new Array(600).fill(0)), u: x }, { reduction: 'mul' }, 16))).toMatch(/mul/);
  });
});
