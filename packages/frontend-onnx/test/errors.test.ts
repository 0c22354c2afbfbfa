/**
 * Import errors: unsupported ops (one error listing all), broken files (never a hang or an
 * exception from deep inside the decoder), missing input shapes and bad attributes, each a
 * PockError with a code and a message that names the node and says what to do.
 */
import { PockError, rng, tensor } from '@pockengine/core';
import { describe, expect, it } from 'vitest';
import { importOnnx } from '../src/index.js';
import { buildModel, node } from './build.js';
import { haveModels, modelBytes } from './refs.js';

function importError(bytes: Uint8Array, opts: Parameters<typeof importOnnx>[1] = {}): PockError {
  try {
    importOnnx(bytes, opts);
  } catch (e) {
    expect(e).toBeInstanceOf(PockError);
    return e as PockError;
  }
  throw new Error('expected the import to fail');
}

/** A small valid model: x [2,3] -> Relu -> Gemm(W, b) -> y [2,4]. */
function smallModel(): Uint8Array {
  return buildModel({
    nodes: [node('Relu', ['x'], ['h'], {}, 'relu'), node('Gemm', ['h', 'W', 'b'], ['y'], { transB: 1 }, 'fc')],
    inputs: [['x', 'float32', [2, 3]]],
    outputs: ['y'],
    initializers: [
      ['W', tensor('float32', [4, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])],
      ['b', tensor('float32', [4], [0, 1, 2, 3])],
    ],
  });
}

describe('unsupported ops', () => {
  it('lists every unsupported op type with its node names and the opset in ONE error', () => {
    const bytes = buildModel({
      nodes: [
        node('Relu', ['x'], ['a'], {}, 'relu0'),
        node('NonMaxSuppression', ['a', 'a'], ['b'], {}, 'nms_first'),
        node('Unique', ['b'], ['c'], {}, 'unique_0'),
        node('NonMaxSuppression', ['c', 'c'], ['d'], {}, 'nms_second'),
        node('FusedMatMul', ['d', 'd'], ['y'], {}, 'fused', 'com.microsoft'),
      ],
      inputs: [['x', 'float32', [2, 2]]],
      outputs: ['y'],
      opset: 17,
    });
    const e = importError(bytes, { file: 'two-bad.onnx' });
    expect(e.code).toBe('unsupported-op');
    expect(e.where).toMatchObject({ file: 'two-bad.onnx', opset: 17 });
    expect(e.message).toMatch(/NonMaxSuppression: 2 node\(s\) 'nms_first', 'nms_second'/);
    expect(e.message).toMatch(/Unique: 1 node\(s\) 'unique_0'/);
    expect(e.message).toMatch(/com\.microsoft\.FusedMatMul: 1 node\(s\) 'fused'/);
    expect(e.message).toContain('opset 17');
    expect(e.message).toContain('packages/frontend-onnx/src/handlers');
    expect(e.message).not.toContain('Relu');
  });
});

describe('broken files', () => {
  it('accepts the small valid model (the baseline of the cases below)', () => {
    expect(importOnnx(smallModel()).graph.outputs[0]!.name).toBe('y');
  });

  it('rejects an empty file', () => {
    const e = importError(new Uint8Array(0), { file: 'empty.onnx' });
    expect(e.code).toBe('import');
    expect(e.message).toMatch(/^empty\.onnx: .*empty/);
  });

  it('rejects every truncation of a model with PockError(import)', () => {
    const bytes = smallModel();
    for (let cut = 1; cut < bytes.length; cut += 3) {
      const e = importError(bytes.subarray(0, cut));
      expect(e.code, `cut at ${cut}`).toBe('import');
    }
  });

  it.skipIf(!haveModels)('rejects a truncated reference model', () => {
    const bytes = modelBytes('mcunet_tiny.onnx');
    for (const frac of [0.001, 0.3, 0.5, 0.999]) {
      const e = importError(bytes.subarray(0, Math.floor(bytes.length * frac)), { inputShapes: { input: [2, 3, 128, 128] } });
      expect(e.code).toBe('import');
      expect(e.message).toMatch(/corrupt or truncated|not a valid ONNX model/);
    }
  });

  it('rejects random bytes and other file formats', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const r = rng(seed);
      const bytes = Uint8Array.from({ length: 1 + Math.floor(r() * 2000) }, () => Math.floor(r() * 256));
      expect(importError(bytes).code, `seed ${seed}`).toBe('import');
    }
    expect(importError(new TextEncoder().encode('{"not": "an onnx model"}')).code).toBe('import');
    expect(importError(new TextEncoder().encode('\x93NUMPY\x01\x00')).code).toBe('import');
  });

  it('rejects a tensor whose data does not match its shape, naming it', () => {
    const bytes = buildModel({
      nodes: [node('Add', ['x', 'bias'], ['y'])],
      inputs: [['x', 'float32', [3]]],
      outputs: ['y'],
      rawInitializers: [
        { name: 'bias', dims: [3], dataType: 1, rawData: new Uint8Array(10), floatData: [], int32Data: [], int64Data: [], doubleData: [], uint64Data: [], stringData: [], externalData: {}, dataLocation: 0 },
      ],
    });
    const e = importError(bytes);
    expect(e.code).toBe('import');
    expect(e.message).toMatch(/tensor 'bias': raw data has 10 bytes, float32 \[3\] needs 12/);
  });

  it('refuses to compute absurdly large constants instead of running out of memory', () => {
    const bytes = buildModel({
      nodes: [node('ConstantOfShape', ['s'], ['z'], {}, 'huge'), node('Add', ['x', 'z'], ['y'])],
      inputs: [['x', 'float32', [1]]],
      outputs: ['y'],
      initializers: [['s', tensor('int64', [3], [100000, 100000, 100000])]],
    });
    const e = importError(bytes);
    expect(e.code).toBe('import');
    expect(e.message).toMatch(/ConstantOfShape 'huge' \(opset 17\): a constant of shape \[100000,100000,100000\] is too large/);
  });

  it('rejects opsets outside the supported range', () => {
    const e = importError(buildModel({ nodes: [node('Relu', ['x'], ['y'])], inputs: [['x', 'float32', [1]]], outputs: ['y'], opset: 6 }));
    expect(e.code).toBe('import');
    expect(e.message).toMatch(/opset 6 is not supported.*opset_version/);
  });
});

describe('input shapes', () => {
  it.skipIf(!haveModels)('names every input with open dims and shows what to pass', () => {
    const e = importError(modelBytes('bert_tiny.onnx'), { file: 'bert_tiny.onnx' });
    expect(e.code).toBe('input');
    expect(e.message).toMatch(/'input_ids' \[batch, seq\], 'attention_mask' \[batch, seq\] have dynamic dims/);
    expect(e.message).toContain('inputShapes');
    const one = importError(modelBytes('bert_tiny.onnx'), { inputShapes: { input_ids: [2, 32] } });
    expect(one.message).toMatch(/input 'attention_mask' \[batch, seq\] has dynamic dims/);
  });

  it('rejects shapes that contradict the model or name no input', () => {
    const bytes = buildModel({ nodes: [node('Relu', ['x'], ['y'])], inputs: [['x', 'float32', ['batch', 3]]], outputs: ['y'] });
    expect(importError(bytes, { inputShapes: { x: [2, 3, 1] } }).message).toMatch(/inputShapes\.x = \[2,3,1\] does not match the model's shape \[batch,3\] \(rank 2\)/);
    // static sizes are annotations: an explicit shape overrides them (shape rules re-check the graph)
    expect(importOnnx(bytes, { inputShapes: { x: [2, 4] } }).graph.values[0]!.shape).toEqual([2, 4]);
    expect(importError(bytes, { inputShapes: { x: [2, 3], y: [1] } }).message).toMatch(/'y', which is not a graph input/);
    expect(importOnnx(bytes, { inputShapes: { x: [5, 3] } }).graph.values[0]!.shape).toEqual([5, 3]);
  });
});

describe('bad attributes and shapes name the node', () => {
  it('reports a Conv whose groups do not divide the channels as Conv <name> (opset N)', () => {
    const bytes = buildModel({
      nodes: [node('Conv', ['x', 'w'], ['y'], { group: 3, kernel_shape: [3, 3] }, 'features.3.conv.1')],
      inputs: [['x', 'float32', [1, 16, 8, 8]]],
      outputs: ['y'],
      initializers: [['w', tensor('float32', [6, 5, 3, 3])]],
      opset: 17,
    });
    const e = importError(bytes, { file: 'm.onnx' });
    expect(e.message).toMatch(/^m\.onnx: Conv 'features\.3\.conv\.1' \(opset 17\): /);
    expect(e.where).toMatchObject({ op: 'Conv', node: 'features.3.conv.1', opset: 17 });
  });

  it('reports unsupported attribute values and a shape argument that is not constant', () => {
    const pad = buildModel({ nodes: [node('Pad', ['x', 'p'], ['y'], { mode: 'reflect' }, 'pad0')], inputs: [['x', 'float32', [2, 2]]], outputs: ['y'], initializers: [['p', tensor('int64', [4], [0, 1, 0, 1])]] });
    expect(importError(pad).message).toMatch(/Pad 'pad0' \(opset 17\): mode='reflect' is not supported/);
    const reshape = buildModel({
      nodes: [node('Cast', ['s'], ['si'], { to: 7 }), node('Reshape', ['x', 'si'], ['y'], {}, 'rs')],
      inputs: [['x', 'float32', [2, 2]], ['s', 'float32', [2]]],
      outputs: ['y'],
    });
    const e = importError(reshape);
    expect(e.message).toMatch(/Reshape 'rs' \(opset 17\): shape \('si'\) must be a constant at import time/);
  });

  it('reports use of an output the handler does not produce', () => {
    const bytes = buildModel({
      nodes: [node('MaxPool', ['x'], ['y', 'idx'], { kernel_shape: [2, 2] }, 'pool')],
      inputs: [['x', 'float32', [1, 1, 4, 4]]],
      outputs: ['y'],
    });
    expect(importError(bytes).message).toMatch(/MaxPool 'pool' \(opset 17\): the Indices output of MaxPool is not supported/);
  });
});
