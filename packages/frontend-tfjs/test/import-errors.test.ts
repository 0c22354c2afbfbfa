/**
 * Error reporting: every unsupported layer / op of a model in one PockError('unsupported-op'),
 * naming the layer class (or op) and the layer (or node), and saying what to do.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { PockError } from '@pockengine/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { SUPPORTED, importGraphModel, importLayersModel, importLayersModelObject, importTfjsModel } from '../src/index.js';
import { GraphDefBuilder, attr } from './graphdef-builder.js';
import { saveToMemory, useCpu } from './helpers.js';

beforeAll(useCpu);

type ST = tfl.SymbolicTensor;

function catchError(f: () => unknown): PockError {
  try {
    f();
  } catch (e) {
    if (e instanceof PockError) return e;
    throw e;
  }
  throw new Error('expected a PockError');
}

describe('unsupported layers', () => {
  it('are all reported in one error, from model.json and from the model object', async () => {
    const inp = tfl.input({ shape: [4, 4, 2], name: 'bad_img' });
    let x = tfl.layers.conv2dTranspose({ filters: 3, kernelSize: 2, name: 'bad_tconv' }).apply(inp) as ST;
    x = tfl.layers.reshape({ targetShape: [5, 15], name: 'bad_reshape' }).apply(x) as ST;
    // Masking is supported; Flatten drops its mask, as TF.js does
    x = tfl.layers.masking({ name: 'mask' }).apply(x) as ST;
    x = tfl.layers.flatten({ name: 'mask_flat' }).apply(x) as ST;
    const y = tfl.layers.conv2d({ filters: 2, kernelSize: 1, dataFormat: 'channelsFirst', name: 'bad_cf' }).apply(inp) as ST;
    const f = tfl.layers.flatten({ name: 'bad_f' }).apply(inp) as ST;
    const z = tfl.layers.dot({ axes: 1, normalize: true, name: 'bad_dot' }).apply([f, tfl.layers.dense({ units: 32, name: 'bad_d' }).apply(f) as ST]) as ST;
    // (a layer behind an unsupported one is not evaluated, so only class-level problems show there)
    const out = tfl.layers.concatenate({ name: 'bad_cat' }).apply([x, z, tfl.layers.flatten({ name: 'bad_f2' }).apply(y) as ST]) as ST;
    const model = tfl.model({ inputs: inp, outputs: out });
    const { modelJson, weightData } = await saveToMemory(model);
    for (const e of [catchError(() => importLayersModel(modelJson, weightData)), catchError(() => importLayersModelObject(model))]) {
      expect(e.code).toBe('unsupported-op');
      expect(e.message).toMatch(/has 2 unsupported layer\(s\)/);
      expect(e.message).not.toContain('bad_tconv'); // Conv2DTranspose is supported
      expect(e.message).not.toContain('mask');
      expect(e.message).toMatch(/Conv2D 'bad_cf': data_format 'channels_?[fF]irst' is not supported/);
      expect(e.message).toContain("Dot 'bad_dot': normalize = true is not supported");
      expect(e.message).toContain('add a handler in packages/frontend-tfjs/src/layers/handlers');
    }
  });

  it('a nested model is named as such', async () => {
    const inner = tfl.sequential({ layers: [tfl.layers.dense({ units: 3, inputShape: [4], name: 'nest_d' })], name: 'nest_inner' });
    const inp = tfl.input({ shape: [4], name: 'nest_x' });
    const model = tfl.model({ inputs: inp, outputs: inner.apply(inp) as ST });
    const { modelJson, weightData } = await saveToMemory(model);
    const e = catchError(() => importLayersModel(modelJson, weightData));
    expect(e.message).toMatch(/Sequential 'nest_inner' \(a nested model/);
  });

  it('an unknown input dimension asks for inputShapes', async () => {
    const inp = tfl.input({ shape: [null, 3] as unknown as number[], name: 'dyn_x' });
    const model = tfl.model({ inputs: inp, outputs: tfl.layers.dense({ units: 2, name: 'dyn_d' }).apply(inp) as ST });
    expect(() => importLayersModelObject(model)).toThrow(/pass inputShapes: \{ 'dyn_x'/);
    const r = importLayersModelObject(model, { inputShapes: { dyn_x: [2, 5, 3] } });
    expect(r.graph.values[r.graph.inputs[0]!]!.shape).toEqual([2, 5, 3]);
  });
});

describe('unsupported graph ops', () => {
  it('are grouped by op type with their node names, including ops behind other unsupported ones', () => {
    const g = new GraphDefBuilder();
    const x = g.placeholder('x', [-1, 4]);
    const a = g.node('a/Cumprod', 'Cumprod', [x, g.int('a/axis', [1], [])]);
    const b = g.node('b/Cumprod', 'Cumprod', [a, g.int('b/axis', [1], [])]);
    const c = g.node('c/Erfc', 'Erfc', [b]);
    const d = g.node('d/Conv', 'Conv2D', [g.node('d/x4', 'Reshape', [x, g.int('d/shape', [-1, 2, 2, 1])], { Tshape: attr.type('DT_INT32') }), g.weight('d/w', [1, 1, 1, 1], [1])], {
      strides: attr.ints([1, 1, 1, 1]), padding: attr.s('VALID'), data_format: attr.s('NCHW'),
    });
    g.node('out', 'AddV2', [c, g.node('d/flat', 'Reshape', [d, g.int('d/s2', [-1, 4])], { Tshape: attr.type('DT_INT32') })]);
    const { modelJson, weightData } = g.build({ y: 'out:0' });
    const e = catchError(() => importGraphModel(modelJson, weightData));
    expect(e.code).toBe('unsupported-op');
    expect(e.message).toContain('Cumprod (2 node(s): ');
    expect(e.message).toContain('Erfc (1 node(s): c/Erfc)');
    expect(e.message).toContain("Conv2D 'd/Conv': data_format 'NCHW' is not supported");
    expect(e.message).toContain('has 3 unsupported op(s)');
  });
});

describe('index-driven graph ops', () => {
  const argMax = (g: GraphDefBuilder, name: string, x: string) =>
    g.node(name, 'ArgMax', [x, g.int(`${name}/axis`, [1], [])], { Tidx: attr.type('DT_INT32'), output_type: attr.type('DT_INT32') });

  it('a computed TopKV2 k or ScatterNd shape is reported with its node', () => {
    const g = new GraphDefBuilder();
    const x = g.placeholder('x', [-1, 6]);
    g.node('tk', 'TopKV2', [x, argMax(g, 'k', x)], { sorted: attr.b(true) });
    const sc = g.node('sc', 'ScatterNd', [g.int('sc/i', [0, 1], [2, 1]), g.weight('sc/u', [2], [1, 2]), argMax(g, 's', x)], { Tindices: attr.type('DT_INT32') });
    const { modelJson, weightData } = g.build({ v: 'tk:0', s: `${sc}:0` });
    const e = catchError(() => importGraphModel(modelJson, weightData));
    expect(e.code).toBe('unsupported-op');
    expect(e.message).toContain("TopKV2 'tk': k (input 1) must be a constant known at import time");
    expect(e.message).toContain("ScatterNd 'sc': shape (input 2) must be a constant known at import time");
  });

  it('OneHot of float indices is rejected at its node', () => {
    const g = new GraphDefBuilder();
    const x = g.placeholder('x', [-1, 6]);
    g.node('oh', 'OneHot', [x, g.int('oh/depth', [4], []), g.weight('oh/on', [], [1]), g.weight('oh/off', [], [0])], { axis: attr.i(-1) });
    const { modelJson, weightData } = g.build({ y: 'oh:0' });
    const e = catchError(() => importGraphModel(modelJson, weightData));
    expect(e.code).toBe('dtype');
    expect(e.message).toContain("OneHot 'oh': indices must be integer, got float32");
  });
});

describe('coverage table', () => {
  it('lists the layer classes, activations and graph ops named in the handler tables', () => {
    for (const l of ['Conv2D', 'DepthwiseConv2D', 'SeparableConv2D', 'Dense', 'BatchNormalization', 'ReLU', 'Activation', 'Add', 'Concatenate', 'Multiply', 'ZeroPadding2D', 'MaxPooling2D', 'AveragePooling2D', 'GlobalAveragePooling2D', 'Flatten', 'Reshape', 'Dropout', 'Embedding', 'LayerNormalization', 'InputLayer'])
      expect(SUPPORTED.layers).toContain(l);
    for (const a of ['relu', 'relu6', 'sigmoid', 'tanh', 'softmax', 'gelu', 'swish', 'silu', 'elu', 'linear']) expect(SUPPORTED.activations).toContain(a);
    for (const op of ['Conv2D', '_FusedConv2D', 'DepthwiseConv2dNative', 'FusedDepthwiseConv2dNative', 'MatMul', '_FusedMatMul', 'BiasAdd', 'Add', 'AddV2', 'Sub', 'Mul', 'RealDiv', 'Relu', 'Relu6', 'Sigmoid', 'Tanh', 'Softmax', 'Mean', 'Sum', 'Max', 'ConcatV2', 'Pad', 'Reshape', 'Squeeze', 'ExpandDims', 'Transpose', 'Identity', 'Const', 'Placeholder', 'FusedBatchNormV3', 'MaxPool', 'AvgPool', 'Rsqrt', 'Square', 'StridedSlice', 'GatherV2', 'Cast', 'Shape', 'GatherNd', 'ScatterNd', 'TensorScatterUpdate', 'TopKV2', 'OneHot', 'ArgMax', 'ArgMin', 'Tan', 'Sinh', 'Cosh', 'Asinh', 'Acosh', 'Atanh', 'IsNan'])
      expect(SUPPORTED.graphOps).toContain(op);
  });

  it('importTfjsModel tells layers from graph models without a format field', async () => {
    const model = tfl.sequential({ layers: [tfl.layers.dense({ units: 2, inputShape: [3], name: 'auto_d' })] });
    const { modelJson, weightData } = await saveToMemory(model);
    delete modelJson.format;
    expect(importTfjsModel(modelJson, weightData).kind).toBe('layers');
    expect(importTfjsModel(model).kind).toBe('layers');
  });
});
