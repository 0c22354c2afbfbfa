/**
 * Export back to ONNX: updated initializers re-encoded into the original file (every other byte
 * kept), re-import with the new weights, the safetensors weight file, and a check in
 * onnxruntime-node that the exported model computes what PockEngine computes.
 */
import { createRequire } from 'node:module';
import { CpuBackend } from '@pockengine/backend-cpu';
import { PockError, Program, compileTrainingGraph, readSafetensors, tensor, type Graph, type Tensor } from '@pockengine/core';
import { describe, expect, it } from 'vitest';
import { decodeModel, exportOnnx, exportWeights, importOnnx } from '../src/index.js';
import { buildModel, node } from './build.js';
import { compare, haveModels, loadRef, modelBytes } from './refs.js';

/** Deterministic new values for a tensor (as a trained weight would be). */
function perturbed(t: Tensor, k: number): Tensor {
  return tensor(t.dtype, t.shape, Float32Array.from(t.data as Float32Array, (v, i) => v * 0.9 + 0.001 * ((i * 7 + k) % 13)));
}

async function forward(graph: Graph, feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
  const p = Program.create(graph, new CpuBackend());
  try {
    return await p.step(feeds);
  } finally {
    p.dispose();
  }
}

function small(): Uint8Array {
  return buildModel({
    nodes: [node('Gemm', ['x', 'W', 'b'], ['y'], { transB: 1 }, 'fc')],
    inputs: [['x', 'float32', [2, 3]]],
    outputs: ['y'],
    initializers: [
      ['W', tensor('float32', [4, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])],
      ['b', tensor('float32', [4], [0, 1, 2, 3])],
    ],
  });
}

describe('exportOnnx', () => {
  it('replaces only the updated initializers and keeps everything else', () => {
    const orig = small();
    const out = exportOnnx(orig, new Map([['b', tensor('float32', [4], [9, 8, 7, 6])]]));
    const a = decodeModel(orig);
    const b = decodeModel(out);
    expect(b.graph.nodes).toEqual(a.graph.nodes);
    expect(b.opsets).toEqual(a.opsets);
    expect(b.graph.initializers[0]).toEqual(a.graph.initializers[0]);
    const m = importOnnx(out);
    expect(Array.from(m.graph.init.get(m.graph.values.find((v) => v.name === 'b')!.id)!.data as Float32Array)).toEqual([9, 8, 7, 6]);
    // no update: byte-identical
    expect(exportOnnx(orig, new Map())).toEqual(orig);
  });

  it('rejects unknown names and wrong shapes', () => {
    expect(() => exportOnnx(small(), new Map([['nope', tensor('float32', [1])]]))).toThrowError(/no initializer named 'nope'/);
    expect(() => exportOnnx(small(), new Map([['b', tensor('float32', [5])]]))).toThrowError(PockError);
  });

  it.skipIf(!haveModels)('round-trips trained weights and BN statistics of a reference model', async () => {
    const orig = modelBytes('mcunet_tiny.onnx');
    const opts = { inputShapes: { input: [2, 3, 128, 128] }, batchNorm: 'train' as const };
    const m = importOnnx(orig, opts);
    const updated = new Map<string, Tensor>();
    let k = 0;
    for (const v of m.graph.values)
      if (v.role === 'param' || v.role === 'buffer') updated.set(v.name, perturbed(m.graph.init.get(v.id)!, k++));
    const out = exportOnnx(orig, updated);
    expect(Math.abs(out.length - orig.length)).toBeLessThan(orig.length * 0.01);
    const back = importOnnx(out, opts);
    for (const v of back.graph.values)
      if (v.role === 'param' || v.role === 'buffer') expect(back.graph.init.get(v.id), v.name).toEqual(updated.get(v.name));
    expect(back.graph.nodes.length).toBe(m.graph.nodes.length);

    const w = readSafetensors(exportWeights(orig, updated, { model: 'mcunet_tiny' }));
    expect(w.metadata).toMatchObject({ format: 'pockengine-weights/1', model: 'mcunet_tiny' });
    expect([...w.tensors.keys()].sort()).toEqual([...updated.keys()].sort());
    expect(w.tensors.get('classifier.weight')).toEqual(updated.get('classifier.weight'));
  });
});

// onnxruntime-node ships prebuilt native binaries in its npm package (no download is needed);
// if they cannot load on this platform, the test below is skipped and says why.
const require = createRequire(import.meta.url);
let ort: typeof import('onnxruntime-node') | undefined;
let ortError = '';
try {
  ort = require('onnxruntime-node') as typeof import('onnxruntime-node');
} catch (e) {
  ortError = (e as Error).message;
}

describe.skipIf(!haveModels)('exported models in onnxruntime', () => {
  it.skipIf(!ort)(`run and match PockEngine after training steps${ort ? '' : ` (onnxruntime-node unavailable: ${ortError})`}`, { timeout: 300_000 }, async () => {
    for (const [file, refFile] of [['mcunet_tiny.onnx', 'mcunet_tiny.eval_bn.ref.safetensors'], ['bert_tiny.onnx', 'bert_tiny.ref.safetensors']] as const) {
      const ref = loadRef(refFile);
      const orig = modelBytes(file);
      const inputShapes = Object.fromEntries(Object.entries(ref.inputs).map(([k, t]) => [k, [...t.shape]]));
      const model = importOnnx(orig, { inputShapes, batchNorm: 'frozen', file });

      // a few SGD steps on the frozen-BN model change every weight
      const { graph } = compileTrainingGraph(model.graph, { loss: { kind: 'cross-entropy' }, optimizer: { kind: 'sgd', lr: 0.05 }, keepPrediction: 'logits' });
      const train = Program.create(graph, new CpuBackend());
      for (let s = 0; s < 3; s++) await train.step({ ...ref.inputs, labels: ref.tensors.get('labels')! });
      const weights = await train.weights();
      train.dispose();

      const exported = exportOnnx(orig, weights, { inference: true });
      const ours = (await forward(importOnnx(exported, { inputShapes, file }).graph, ref.inputs)).logits!;

      const rt = ort!;
      const session = await rt.InferenceSession.create(exported, { graphOptimizationLevel: 'disabled' });
      const feeds: Record<string, InstanceType<typeof rt.Tensor>> = {};
      for (const [k, t] of Object.entries(ref.inputs)) feeds[k] = new rt.Tensor(t.dtype === 'int64' ? 'int64' : 'float32', t.data as Float32Array, [...t.shape]);
      const res = await session.run(feeds);
      const theirs = tensor('float32', [...res.logits!.dims], res.logits!.data as Float32Array);
      await session.release();

      // the untrained weights reproduce the PyTorch reference logits in onnxruntime too
      const s0 = await rt.InferenceSession.create(exportOnnx(orig, new Map(), { inference: true }), { graphOptimizationLevel: 'disabled' });
      const base = await s0.run(feeds);
      await s0.release();
      expect(compare('logits', tensor('float32', [...base.logits!.dims], base.logits!.data as Float32Array), ref).pass, `${file}: onnxruntime vs reference`).toBe(true);

      // after training: onnxruntime on the exported file == PockEngine on the re-imported file
      const o = Array.from(ours.data as Float32Array);
      const t = Array.from(theirs.data as Float32Array);
      const err = Math.sqrt(o.reduce((s, v, i) => s + (v - t[i]!) ** 2, 0) / o.reduce((s, v) => s + v * v, 0));
      expect(err, `${file}: relative L2 difference of logits`).toBeLessThan(1e-4);
      const before = Array.from(ref.tensors.get('logits')!.data as Float32Array);
      expect(o.some((v, i) => Math.abs(v - before[i]!) > 1e-3), `${file}: training changed the logits`).toBe(true);
    }
  });
});
