/**
 * Weight manifests: quantized weights (uint8 / uint16 with min + scale, float16) decode exactly as
 * TF.js decodes them, for a layers model and a graph model; shards split across files; TF 'SAME'
 * padding arithmetic.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import * as tfc from '@tensorflow/tfjs-converter';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeWeights, importGraphModel, importLayersModel, importTfjsModelFrom, tfPad1d, type TfjsModelJson, type WeightSpec } from '../src/index.js';
import { cnnGraph } from './graph-fixtures.js';
import { expectClose, forward, randomInput, randomizeWeights, saveToMemory, softmaxRows, tf, toTf, useCpu } from './helpers.js';

beforeAll(useCpu);

/** float32 -> IEEE half bits, round to nearest even (normal range; enough for weights ~N(0, 1)). */
function toHalf(v: number): number {
  const f = new Float32Array([v]);
  const u = new Uint32Array(f.buffer)[0]!;
  const sign = (u >>> 16) & 0x8000;
  let exp = ((u >>> 23) & 0xff) - 127 + 15;
  let mant = u & 0x7fffff;
  if (exp <= 0) return sign; // flush tiny values to zero
  let h = sign | (exp << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h++;
  return h;
}

/** Re-encodes the first weights of a manifest as uint8, uint16 and float16, as tfjs-converter's --quantize_* do. */
function quantize(specs: WeightSpec[], data: ArrayBuffer): { specs: WeightSpec[]; data: ArrayBuffer } {
  const decoded = decodeWeights(specs, data);
  const kinds = ['uint8', 'uint16', 'float16'] as const;
  const parts: ArrayBuffer[] = [];
  const out = specs.map((s, i) => {
    const v = decoded.get(s.name)!.data as Float32Array;
    const kind = kinds[i % 4];
    if (!kind || s.dtype !== 'float32') {
      parts.push(v.slice().buffer);
      return s;
    }
    if (kind === 'float16') {
      parts.push(Uint16Array.from(v, toHalf).buffer);
      return { ...s, quantization: { dtype: kind } };
    }
    const levels = kind === 'uint8' ? 255 : 65535;
    const min = Math.min(...v);
    const scale = (Math.max(...v) - min) / levels || 1;
    const q = Array.from(v, (x) => Math.round((x - min) / scale));
    parts.push((kind === 'uint8' ? Uint8Array.from(q) : Uint16Array.from(q)).buffer);
    return { ...s, quantization: { dtype: kind, min, scale } };
  });
  const total = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let off = 0;
  for (const p of parts) {
    total.set(new Uint8Array(p), off);
    off += p.byteLength;
  }
  return { specs: out, data: total.buffer };
}

describe('quantized weights', () => {
  it('decode exactly as tf.io.decodeWeights', async () => {
    const model = tfl.sequential({ layers: [tfl.layers.dense({ units: 7, inputShape: [5], name: 'qd_a' }), tfl.layers.dense({ units: 3, name: 'qd_b' })] });
    randomizeWeights(model, 131, 1);
    const { modelJson, weightData } = await saveToMemory(model);
    const q = quantize(modelJson.weightsManifest![0]!.weights, weightData);
    const ours = decodeWeights(q.specs, q.data);
    const theirs = tf.io.decodeWeights(q.data, q.specs as tf.io.WeightsManifestEntry[]);
    for (const s of q.specs) expect(Array.from(ours.get(s.name)!.data as Float32Array)).toEqual(Array.from(theirs[s.name]!.dataSync()));
    expect(q.specs.map((s) => s.quantization?.dtype)).toEqual(['uint8', 'uint16', 'float16', undefined]);
  });

  it('a quantized layers model predicts what tf.loadLayersModel of the same files predicts', async () => {
    const inp = tfl.input({ shape: [6, 6, 2], name: 'q_img' });
    let x = tfl.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', name: 'q_conv' }).apply(inp) as tfl.SymbolicTensor;
    x = tfl.layers.batchNormalization({ name: 'q_bn' }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.dense({ units: 4, name: 'q_fc' }).apply(tfl.layers.flatten({ name: 'q_flat' }).apply(x)) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: inp, outputs: x });
    randomizeWeights(model, 132, 0.5);
    const { modelJson, weightData } = await saveToMemory(model);
    const q = quantize(modelJson.weightsManifest![0]!.weights, weightData);
    const qJson: TfjsModelJson = { ...modelJson, weightsManifest: [{ paths: ['a.bin', 'b.bin'], weights: q.specs }] };
    const reference = await tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: modelJson.modelTopology as object, weightSpecs: q.specs as tf.io.WeightsManifestEntry[], weightData: q.data }));
    // shards split at an arbitrary byte, fetched through the loader callback
    const cut = 37;
    const shards: Record<string, ArrayBuffer> = { 'a.bin': q.data.slice(0, cut), 'b.bin': q.data.slice(cut) };
    const r = await importTfjsModelFrom(qJson, (p) => shards[p]!, { batchSize: 2 });
    const xin = randomInput([2, 6, 6, 2], 133);
    const { out } = await forward(r.graph, { q_img: xin });
    expectClose(out.q_fc!.data as Float32Array, (reference.predict(toTf(xin)) as tf.Tensor).dataSync(), 'prediction', 1e-5);
    // and the quantization is visible: the unquantized model predicts something else
    const exact = (model.predict(toTf(xin)) as tf.Tensor).dataSync();
    expect(Math.max(...Array.from(exact, (v, i) => Math.abs(v - (out.q_fc!.data as Float32Array)[i]!)))).toBeGreaterThan(1e-5);
  });

  it('a quantized graph model predicts what tfjs-converter predicts', async () => {
    const { modelJson, weightData } = cnnGraph();
    const q = quantize(modelJson.weightsManifest![0]!.weights, weightData);
    const qJson: TfjsModelJson = { ...modelJson, weightsManifest: [{ paths: ['w.bin'], weights: q.specs }] };
    const gm = await tfc.loadGraphModel(tf.io.fromMemory({ modelTopology: qJson.modelTopology as object, weightSpecs: q.specs as tf.io.WeightsManifestEntry[], weightData: q.data, format: 'graph-model' }));
    const r = importGraphModel(qJson, q.data, { batchSize: 2 });
    const xin = randomInput([2, 9, 9, 3], 134);
    const { out } = await forward(r.graph, { x: xin });
    expectClose(softmaxRows(out.logits!.data as Float32Array, 5), (gm.execute({ x: toTf(xin) }, 'Identity') as tf.Tensor).dataSync(), 'prediction', 1e-5);
  });

  it('rejects weight data that does not match the manifest', async () => {
    const model = tfl.sequential({ layers: [tfl.layers.dense({ units: 2, inputShape: [3], name: 'short_d' })] });
    const { modelJson, weightData } = await saveToMemory(model);
    expect(() => importLayersModel(modelJson, weightData.slice(0, 12))).toThrow(/weight data ends at byte 12.*short_d\/kernel|short_d\/bias/s);
    expect(() => importLayersModel(modelJson, new ArrayBuffer(weightData.byteLength + 4))).toThrow(/describes 32/);
  });
});

describe("TF 'SAME' padding", () => {
  it('puts the odd pixel at the end (bottom / right), and pads nothing for VALID', () => {
    expect(tfPad1d('same', 9, 3, 2, 1)).toEqual([1, 1]);
    expect(tfPad1d('same', 8, 3, 2, 1)).toEqual([0, 1]);
    expect(tfPad1d('same', 5, 2, 1, 1)).toEqual([0, 1]);
    expect(tfPad1d('same', 7, 4, 1, 1)).toEqual([1, 2]);
    expect(tfPad1d('same', 7, 3, 1, 2)).toEqual([2, 2]);
    expect(tfPad1d('same', 4, 1, 3, 1)).toEqual([0, 0]);
    expect(tfPad1d('valid', 9, 3, 2, 1)).toEqual([0, 0]);
  });
});
