/**
 * GraphModel import against tfjs-converter's own GraphModel (loaded from memory): a hand-written
 * GraphDef with Placeholder, Const weights, _FusedConv2D, DepthwiseConv2dNative, BiasAdd, Relu6,
 * FusedBatchNormV3, MaxPool, AddV2, Pad, AvgPool, Mean, a converted-Flatten shape chain
 * (Shape / StridedSlice / Pack / Reshape), MatMul, ConcatV2, _FusedMatMul and Softmax.
 * Reference gradients come from tf.grads through GraphModel.execute with the weight map's
 * tensors replaced by the differentiated ones. splitSelectGraph: Split / SplitV / Unpack / Tile /
 * BroadcastTo, comparisons and Select, ClipByValue, Prelu and more elementwise ops;
 * transposedConvGraph: Conv2DBackpropInput; resizeGraph: ResizeBilinear / ResizeNearestNeighbor;
 * mirrorPadGraph: MirrorPad; einsumGraph: Einsum as Keras MultiHeadAttention emits it; cumsumGraph: Cumsum;
 * unaryMathGraph: Tan, Sinh, Cosh, Asinh, Acosh, Atanh, IsNan; gatherNdGraph, scatterNdGraph,
 * topKGraph, oneHotGraph: GatherNd, ScatterNd, TensorScatterUpdate, TopKV2, OneHot, ArgMax, ArgMin.
 */
import * as tfc from '@tensorflow/tfjs-converter';
import { tensor, type Tensor } from '@pockengine/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { importGraphModel, importTfjsModel, type TfjsModelJson } from '../src/index.js';
import {
  cnnGraph, cumsumGraph, einsumGraph, gatherNdGraph, mirrorPadGraph, oneHotGraph, opsGraph, resizeGraph, scatterNdGraph, splitSelectGraph, topKGraph,
  transposedConvGraph, unaryMathGraph,
} from './graph-fixtures.js';
import { centralDifferences, expectClose, forward, lossAndGrads, randomInput, randomLabels, softmaxRows, tf, toTf, useCpu } from './helpers.js';

beforeAll(useCpu);

async function loadReference(modelJson: TfjsModelJson, weightData: ArrayBuffer) {
  return tfc.loadGraphModel(tf.io.fromMemory({ modelTopology: modelJson.modelTopology as object, weightSpecs: modelJson.weightsManifest![0]!.weights as tf.io.WeightsManifestEntry[], weightData, format: 'graph-model' }));
}

type Feeds = Record<string, Tensor>;
const toTfFeeds = (feeds: Feeds) => Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, toTf(v)]));

/** -mean log p[label] and its gradient for `names` through GraphModel.execute (`logProbs`: the output is log p). */
function referenceGrads(gm: tfc.GraphModel, feeds: Feeds, labels: Tensor, names: string[], classes = 5, logProbs = false) {
  const wm = gm.weights as Record<string, tf.Tensor[]>;
  const originals = names.map((n) => wm[n]![0]!);
  const xs = toTfFeeds(feeds);
  const onehot = tf.oneHot(toTf(labels) as tf.Tensor1D, classes);
  const f = (...ws: tf.Tensor[]) => {
    names.forEach((n, i) => (wm[n] = [ws[i]!]));
    const p = gm.execute(xs, 'Identity') as tf.Tensor;
    return tf.neg(tf.mean(tf.sum(tf.mul(onehot, logProbs ? p : tf.log(p)), -1))) as tf.Scalar;
  };
  const { value, grads } = tf.valueAndGrads(f)(originals);
  names.forEach((n, i) => (wm[n] = [originals[i]!]));
  return { loss: value.dataSync()[0]!, grads: new Map(names.map((n, i) => [n, grads[i]!.dataSync() as Float32Array])) };
}

/**
 * Central differences (h = 1e-2) of -mean log p[label] computed by GraphModel.execute, with respect
 * to weight `name`: the reference where TF.js's own gradient of an op is wrong.
 */
function finiteDifferenceGrad(gm: tfc.GraphModel, feeds: Feeds, labels: Tensor, name: string, classes = 5): Float32Array {
  const wm = gm.weights as Record<string, tf.Tensor[]>;
  const k0 = wm[name]![0]!;
  const base = k0.dataSync().slice() as Float32Array;
  const onehot = tf.oneHot(toTf(labels) as tf.Tensor1D, classes);
  const lossAt = (k: Float32Array) => {
    wm[name] = [tf.tensor(k, k0.shape)];
    const p = gm.execute(toTfFeeds(feeds), 'Identity') as tf.Tensor;
    return -tf.mean(tf.sum(tf.mul(onehot, p), -1)).dataSync()[0]!;
  };
  const fd = centralDifferences(base, lossAt);
  wm[name] = [k0];
  return fd;
}

type Fixture = { modelJson: TfjsModelJson; weightData: ArrayBuffer };

/** An int32 graph input of `shape` (row-major values). */
const ints = (shape: number[], vals: number[]): Tensor => tensor('int32', shape, Int32Array.from(vals));

/**
 * Imports a graph fixture (input 'x', output 'Identity' = log p over 5 classes) and compares with
 * tfjs-converter: the prediction, the loss, tf.grads of `grads` (default: every trainable weight)
 * and central differences of TF.js's forward for `finiteDifferences` (smooth in those weights:
 * O(h^2) truncation and float32 rounding stay below 1e-3). `feeds`: the graph's other inputs;
 * `reference`: the graph TF.js runs instead, where it misreads one of the fixture's ops (same
 * weights, same function under TF's semantics).
 */
async function checkGraph(
  fixture: Fixture,
  shape: number[],
  seed: number,
  o: { grads?: string[]; finiteDifferences?: string[]; feeds?: Feeds; reference?: Fixture } = {},
) {
  const { modelJson, weightData } = fixture;
  const ref0 = o.reference ?? fixture;
  const gm = await loadReference(ref0.modelJson, ref0.weightData);
  const feeds = { x: randomInput(shape, seed), ...o.feeds };
  const labels = randomLabels(shape[0]!, 5, seed + 1);
  const r = importGraphModel(modelJson, weightData, { batchSize: shape[0]! });
  const { out } = await forward(r.graph, feeds);
  expectClose(out.logp!.data as Float32Array, (gm.execute(toTfFeeds(feeds), 'Identity') as tf.Tensor).dataSync(), 'prediction');
  const names = o.grads ?? r.trainable;
  const ours = await lossAndGrads(r.graph, feeds, labels, [...names, ...(o.finiteDifferences ?? [])]);
  const ref = referenceGrads(gm, feeds, labels, names, 5, true);
  expect(Math.abs(ours.loss - ref.loss) / ref.loss).toBeLessThan(1e-5);
  for (const name of names) expectClose(ours.grads.get(name)!.data as Float32Array, ref.grads.get(name)!, `gradient of '${name}'`);
  for (const name of o.finiteDifferences ?? [])
    expectClose(ours.grads.get(name)!.data as Float32Array, finiteDifferenceGrad(gm, feeds, labels, name), `gradient of '${name}' vs finite differences`, 1e-3);
  return { r, gm, feeds };
}

describe('GraphModel parity with tfjs-converter', () => {
  it('imports a hand-written GraphDef: prediction, loss and gradients of every weight', async () => {
    const { modelJson, weightData } = cnnGraph();
    const gm = await loadReference(modelJson, weightData);
    const x = randomInput([3, 9, 9, 3], 81);
    const labels = randomLabels(3, 5, 82);
    const r = importGraphModel(modelJson, weightData, { batchSize: 3 });
    expect(importTfjsModel(modelJson, weightData, { batchSize: 3 }).kind).toBe('graph');
    expect(r.outputIsLogitsOfSoftmax).toBe(true);
    expect(r.outputs).toEqual([{ name: 'logits', source: 'probs', softmaxStripped: true }]);
    const params = r.graph.values.filter((v) => v.role === 'param').map((v) => v.name).sort();
    expect(params).toEqual(['bn/beta', 'bn/gamma', 'conv1/bias', 'conv1/kernel', 'dw/bias', 'dw/depthwise_kernel', 'fc/bias', 'fc/kernel', 'head/bias', 'head/kernel', 'pw/kernel']);
    expect(r.graph.values.filter((v) => v.role === 'buffer').map((v) => v.name).sort()).toEqual(['bn/moving_mean', 'bn/moving_variance']);
    expect(r.trainable.sort()).toEqual(params);

    const { out } = await forward(r.graph, { x });
    const want = (gm.execute({ x: toTf(x) }, 'Identity') as tf.Tensor).dataSync();
    expectClose(softmaxRows(out.logits!.data as Float32Array, 5), want, 'prediction');

    const ours = await lossAndGrads(r.graph, { x }, labels, r.trainable);
    const ref = referenceGrads(gm, { x }, labels, r.trainable);
    expect(Math.abs(ours.loss - ref.loss) / ref.loss).toBeLessThan(1e-5);
    for (const name of r.trainable) {
      expect(Math.hypot(...ref.grads.get(name)!)).toBeGreaterThan(1e-3);
      expectClose(ours.grads.get(name)!.data as Float32Array, ref.grads.get(name)!, `gradient of '${name}'`);
    }
  });

  it('elementwise, reduction and data-movement ops on run-time tensors (NCHW-held and not): prediction', async () => {
    const { modelJson, weightData } = opsGraph(true);
    const gm = await loadReference(modelJson, weightData);
    const x = randomInput([2, 6, 5, 4], 91);
    const r = importGraphModel(modelJson, weightData, { batchSize: 2 });
    expect(r.outputs).toEqual([{ name: 'logp', source: 'logp', softmaxStripped: false }]);
    const { out } = await forward(r.graph, { x });
    expectClose(out.logp!.data as Float32Array, (gm.execute({ x: toTf(x) }, 'Identity') as tf.Tensor).dataSync(), 'prediction');
  });

  it('the same ops without StridedSlice (TF.js cannot differentiate it): loss and gradients', async () => {
    const { modelJson, weightData } = opsGraph(false);
    const gm = await loadReference(modelJson, weightData);
    const x = randomInput([2, 6, 5, 4], 93);
    const labels = randomLabels(2, 5, 94);
    const r = importGraphModel(modelJson, weightData, { batchSize: 2 });
    const { out } = await forward(r.graph, { x });
    expectClose(out.logp!.data as Float32Array, (gm.execute({ x: toTf(x) }, 'Identity') as tf.Tensor).dataSync(), 'prediction');
    expect([...r.trainable].sort()).toEqual(['bmm/w', 'c1/b', 'c1/w', 'dw/b', 'dw/w', 'fl/w', 'fmn/w', 'fmx/w']);
    const ours = await lossAndGrads(r.graph, { x }, labels, r.trainable);
    const ref = referenceGrads(gm, { x }, labels, r.trainable, 5, true);
    expect(Math.abs(ours.loss - ref.loss) / ref.loss).toBeLessThan(1e-5);
    for (const name of r.trainable) expectClose(ours.grads.get(name)!.data as Float32Array, ref.grads.get(name)!, `gradient of '${name}'`);
  });

  it('Split, SplitV, Unpack, Tile, BroadcastTo, comparisons, Select(V2), ClipByValue, Prelu, Log1p, Expm1, Sin, Cos, Sign: prediction, loss, gradients', async () => {
    // TF.js reads ClipByValue's bounds as numbers (no gradient for them); the comparison constant has none either
    const { r } = await checkGraph(splitSelectGraph(), [3, 4, 6], 95, { grads: ['bt/w', 'fc/w', 'h/w', 'prelu/alpha', 'sel/w'] });
    expect(r.trainable).toEqual(expect.arrayContaining(['bt/w', 'fc/w', 'h/w', 'prelu/alpha', 'sel/w']));
  });

  it('Conv2DBackpropInput (SAME and VALID, stride 2, output size as given): prediction, loss, gradients', async () => {
    const { r } = await checkGraph(transposedConvGraph(2), [2, 3, 4, 2], 97);
    expect([...r.trainable].sort()).toEqual(['fc/w', 'up1/bias', 'up1/w', 'up2/w']);
  });

  // TF.js's gradients of both resize kernels are wrong (ResizeBilinear's swaps height and width of a
  // non-square image; ResizeNearestNeighbor's gives NaN here): tf.grads for the weight after the
  // resize, central differences of TF.js's forward for the conv kernel before it
  for (const kind of ['ResizeBilinear', 'ResizeNearestNeighbor'] as const)
    it(`${kind} (legacy, align_corners, half_pixel_centers; up and down): prediction, loss, gradients`, async () => {
      await checkGraph(resizeGraph(kind), [2, 5, 7, 2], 99, { grads: ['fc/w'], finiteDifferences: ['c/w'] });
    });

  // TF.js's MirrorPad gradient only slices dy (the mirrored copies' share is dropped; TF's
  // MirrorPadGrad adds it back): the conv kernel before the pads is checked by central differences
  it('MirrorPad (REFLECT on an NCHW-held tensor, SYMMETRIC padding a whole axis length): prediction, loss, gradients', async () => {
    await checkGraph(mirrorPadGraph(), [2, 4, 5, 2], 101, { grads: ['fc/w'], finiteDifferences: ['c/w'] });
  });

  // TF.js has no gradient for Einsum: the weights before it are checked by central differences
  it('Einsum (projection, attention scores and values, output projection): prediction, loss, gradients', async () => {
    await checkGraph(einsumGraph(), [2, 4, 6], 103, { grads: ['fc/w'], finiteDifferences: ['wq', 'wo'] });
  });

  // TF.js's Cumsum gradient over a non-last axis comes out with that axis and the last swapped:
  // the weight before the cumsums is checked by central differences
  it('Cumsum (middle and last axis; exclusive, reverse, both): prediction, loss, gradients', async () => {
    await checkGraph(cumsumGraph(), [2, 4, 6], 105, { grads: ['fc/w'], finiteDifferences: ['h/w'] });
  });

  it('Tan, Sinh, Cosh, Asinh, Acosh, Atanh, IsNan (selecting around Log\'s NaNs): prediction, loss, gradients', async () => {
    // TF.js has correct gradients for all of them (IsNan's is zero): tf.grads for every weight
    const { feeds } = await checkGraph(unaryMathGraph(), [3, 4, 6], 107);
    // the IsNan branch is taken: some h = x * w are negative
    expect(Array.from(feeds.x!.data as Float32Array).some((v) => v < 0)).toBe(true);
  });

  // TF.js registers no gradient for GatherNd: tf.grads for the weight after it, central
  // differences of TF.js's forward for the weights it gathers from
  it('GatherNd (computed (sample, row) and int64 ArgMax tuples, constant tuples with a duplicate): prediction, loss, gradients', async () => {
    // (sample, row) tuples, across samples and repeated; TF rejects negative indices on CPU
    const idx = ints([3, 3, 2], [0, 3, 2, 0, 0, 3, 1, 1, 1, 1, 0, 2, 2, 3, 1, 0, 2, 2]);
    await checkGraph(gatherNdGraph(), [3, 4, 6], 109, { feeds: { idx }, grads: ['fc/w'], finiteDifferences: ['h/w', 'tab/w'] });
  });

  // TF rejects the tuple (0, 4) of a [3, 4, ...] tensor; TF.js only bounds-checks the flattened
  // row, so it silently reads (1, 0) instead
  it('GatherNd rejects an out-of-range index tuple at run time (as TF; TF.js reads another row)', async () => {
    const { modelJson, weightData } = gatherNdGraph();
    const r = importGraphModel(modelJson, weightData, { batchSize: 3 });
    const x = randomInput([3, 4, 6], 110);
    const rows = [0, 3, 2, 0, 0, 4, 1, 1, 1, 1, 0, 2, 2, 3, 1, 0, 2, 2];
    await expect(forward(r.graph, { x, idx: ints([3, 3, 2], rows) })).rejects.toThrow(/gather: index \d+ .*is out of range/);
    const gm = await loadReference(modelJson, weightData);
    const run = (idx: number[]) => (gm.execute(toTfFeeds({ x, idx: ints([3, 3, 2], idx) }), 'Identity') as tf.Tensor).dataSync();
    expect(run(rows)).toEqual(run(rows.map((v, i) => (i === 4 ? 1 : i === 5 ? 0 : v))));
  });

  // TF.js registers no gradient for ScatterNd or TensorScatterUpdate: tf.grads for the weight
  // after them, central differences of TF.js's forward for the weights they scatter
  it('ScatterNd (computed tuples, duplicates summed, a slot never hit) and TensorScatterUpdate (computed tuples): prediction, loss, gradients', async () => {
    // (sample, slot) per row of h: sample 0 sends rows 0 and 2 to its slot 1 and row 3 to sample 1's
    // slot 2, which sample 1's row 0 hits too; sample 2 sends a row to sample 0's slot 4; slot 3 stays zero
    const idx = ints([3, 4, 2], [0, 1, 0, 0, 0, 1, 1, 2, 1, 2, 1, 0, 2, 4, 1, 4, 2, 0, 0, 4, 2, 1, 2, 2]);
    // distinct (sample, row) tuples: TF leaves duplicates undefined (TF.js keeps the last, we sum)
    const uidx = ints([3, 2], [0, 3, 2, 0, 1, 3]);
    await checkGraph(scatterNdGraph(3), [3, 4, 6], 111, { feeds: { idx, uidx }, grads: ['fc/w'], finiteDifferences: ['h/w', 'upd/w'] });
  });

  // TF.js registers no gradient for TopK: tf.grads for the weight after it, central differences
  // of TF.js's forward for the weight before it (top-k is piecewise linear in it; at this seed no
  // pick changes within the 1e-2 steps, the duplicated entries move together)
  it('TopKV2 (k 5 of 12 with ties everywhere: values and int32 indices): prediction, loss, gradients', async () => {
    const { gm, feeds } = await checkGraph(topKGraph(), [3, 4, 6], 113, { grads: ['fc/w'], finiteDifferences: ['h/w'] });
    // ties did decide picks: equal values next to each other, the lower index first
    const [v, i] = gm.execute(toTfFeeds(feeds), ['tk:0', 'tk:1']) as tf.Tensor[];
    const vs = v!.dataSync();
    const is = i!.dataSync();
    let ties = 0;
    for (let j = 0; j + 1 < vs.length; j++)
      if ((j + 1) % 5 !== 0 && vs[j] === vs[j + 1]) {
        ties++;
        expect(is[j]!).toBeLessThan(is[j + 1]!);
      }
    expect(ties).toBeGreaterThan(3);
  });

  // TF.js ignores OneHot's axis attribute (it always one-hots along the last axis), so the
  // reference is the same graph with the axis-1 one-hot written as a last-axis one transposed;
  // TF.js's OneHot, ArgMax and ArgMin gradients (zero) are right: tf.grads for every weight
  it('OneHot (of ArgMax, of ArgMin with ties, axis 1, on/off values; of a computed index with out-of-range and negative entries): prediction, loss, gradients', async () => {
    const idx = ints([3, 4], [0, -1, 5, 6, 3, 7, 2, -3, 1, 1, 9, 4]);
    const { feeds } = await checkGraph(oneHotGraph(), [3, 4, 6], 115, { feeds: { idx }, reference: oneHotGraph(true) });
    // ArgMin over relu(x) meets ties: rows with two or more zeros
    const xs = feeds.x!.data as Float32Array;
    const tied = Array.from({ length: 12 }, (_, r) => xs.slice(r * 6, r * 6 + 6).filter((v) => v <= 0).length).filter((n) => n > 1);
    expect(tied.length).toBeGreaterThan(3);
  });
});
