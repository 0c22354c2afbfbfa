/** The Node adapter: .onnx files with external data beside them. */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PockError } from '@pockengine/core';
import { describe, expect, it } from 'vitest';
import { importOnnx } from '../src/index.js';
import { loadOnnxFile } from '../src/node.js';
import type { OnnxTensor } from '../src/proto/onnx.js';
import { buildModel, node } from './build.js';

function external(name: string, location: string, offset: number, length: number): OnnxTensor {
  return {
    name, dims: [3], dataType: 1, floatData: [], int32Data: [], int64Data: [], doubleData: [], uint64Data: [], stringData: [],
    externalData: { location, offset: String(offset), length: String(length) }, dataLocation: 1,
  };
}

function modelWith(location: string): Uint8Array {
  return buildModel({
    nodes: [node('Mul', ['x', 'w'], ['y'])],
    inputs: [['x', 'float32', [3]]],
    outputs: ['y'],
    rawInitializers: [external('w', location, 4, 12)],
  });
}

// 4 bytes of padding, then the 3 floats of w
const weights = new Uint8Array([0, 0, 0, 0, ...new Uint8Array(new Float32Array([1.5, -2, 4]).buffer)]);

describe('external data', () => {
  it('loads external tensors from files beside the model', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pock-onnx-'));
    mkdirSync(join(dir, 'data'));
    writeFileSync(join(dir, 'data', 'w.bin'), weights);
    writeFileSync(join(dir, 'm.onnx'), modelWith('data/w.bin'));
    const m = loadOnnxFile(join(dir, 'm.onnx'));
    const w = m.graph.values.find((v) => v.name === 'w')!;
    expect(Array.from(m.graph.init.get(w.id)!.data as Float32Array)).toEqual([1.5, -2, 4]);
  });

  it('refuses locations outside the model folder and missing files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pock-onnx-'));
    writeFileSync(join(dir, 'm.onnx'), modelWith('../w.bin'));
    expect(() => loadOnnxFile(join(dir, 'm.onnx'))).toThrowError(/points outside the model's folder/);
    writeFileSync(join(dir, 'n.onnx'), modelWith('missing.bin'));
    expect(() => loadOnnxFile(join(dir, 'n.onnx'))).toThrowError(/cannot read external data file 'missing.bin'/);
    expect(() => loadOnnxFile(join(dir, 'nope.onnx'))).toThrowError(PockError);
  });

  it('takes external data as bytes in the browser-safe API, bounds-checked', () => {
    const m = importOnnx(modelWith('w.bin'), { externalData: { 'w.bin': weights } });
    expect(m.params).toEqual(['w']);
    expect(() => importOnnx(modelWith('w.bin'))).toThrowError(/stored in the external file 'w.bin'; pass its bytes in opts.externalData/);
    expect(() => importOnnx(modelWith('w.bin'), { externalData: { 'w.bin': weights.subarray(0, 10) } })).toThrowError(/lies outside 'w.bin'/);
  });
});
