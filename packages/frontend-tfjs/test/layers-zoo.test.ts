/**
 * Coverage of the remaining layer handlers against TF.js: SeparableConv2D, Conv2D,
 * Concatenate of NCHW tensors, Cropping2D, PReLU, GlobalMaxPooling2D, Dense on a
 * rank-4 input, Reshape, Permute, Conv1D, GlobalAveragePooling1D, every merge layer of tfjs-layers,
 * ELU / Softmax layers, RepeatVector, LayerNormalization on a 3-D input, MaxPooling1D /
 * AveragePooling1D, CenterCrop (TF.js's nearest cropAndResize sampling, odd and even margins).
 * Plus UpSampling2D and AveragePooling2D with 'same' padding, whose TF.js gradients are wrong
 * (resizeNearestNeighbor's gradient; avgPool's divides border windows by the full window size):
 * there the reference is finite differences of TF.js's forward.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { importLayersModelObject } from '../src/index.js';
import { centralDifferences, expectClose, forward, lossAndGrads, randomInput, randomizeWeights, randomLabels, tf, toTf, useCpu } from './helpers.js';
import { checkParity } from './parity.js';

beforeAll(useCpu);

type ST = tfl.SymbolicTensor;
const L = tfl.layers;
const ap = (layer: tfl.layers.Layer, x: ST | ST[]) => layer.apply(x) as ST;

function zoo(): tfl.LayersModel {
  const inp = tfl.input({ shape: [6, 7, 3], name: 'zoo_img' });
  const a = ap(L.conv2d({ filters: 4, kernelSize: [3, 2], padding: 'same', name: 'zoo_conv' }), inp);
  const b = ap(L.separableConv2d({ filters: 5, kernelSize: 3, padding: 'same', depthMultiplier: 2, activation: 'relu', name: 'zoo_sep' }), inp);
  let x = ap(L.concatenate({ axis: -1, name: 'zoo_cat' }), [a, b]);
  x = ap(L.cropping2D({ cropping: [[1, 0], [0, 1]], name: 'zoo_crop' }), x);
  x = ap(L.prelu({ sharedAxes: [1, 2], name: 'zoo_prelu' }), x);
  x = ap(L.conv2d({ filters: 6, kernelSize: 2, name: 'zoo_mix' }), x); // [4, 5, 6]
  const mp = ap(L.maxPooling2d({ poolSize: 3, strides: 1, padding: 'valid', name: 'zoo_mp' }), x); // [2, 3, 6]
  // global max over the conv output, not over `mp`: overlapping pool windows repeat values, and
  // tied maxima legitimately route the gradient differently (TF.js's tf.max gives each tie all
  // of it; core's reduce_max shares it, as torch.amax)
  const gmp = ap(L.globalMaxPooling2d({ name: 'zoo_gmp' }), x);
  const d4 = ap(L.flatten({ name: 'zoo_flat' }), ap(L.dense({ units: 3, name: 'zoo_d4' }), mp));
  let seq = ap(L.reshape({ targetShape: [6, 6], name: 'zoo_reshape' }), mp);
  seq = ap(L.permute({ dims: [2, 1], name: 'zoo_permute' }), seq); // [6, 6]
  seq = ap(L.conv1d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', name: 'zoo_conv1d' }), seq);
  const g1 = ap(L.globalAveragePooling1d({ name: 'zoo_gap1' }), seq);
  const m1 = ap(L.dense({ units: 6, name: 'zoo_m1' }), gmp);
  const m2 = ap(L.dense({ units: 6, name: 'zoo_m2' }), d4);
  const m3 = ap(L.dense({ units: 6, name: 'zoo_m3' }), g1);
  let m = ap(L.add({ name: 'zoo_add' }), [
    ap(L.multiply({ name: 'zoo_mul' }), [m1, m2]),
    ap(L.average({ name: 'zoo_avg' }), [m1, m2, m3]),
    ap(L.maximum({ name: 'zoo_max' }), [m2, m3]),
    ap(L.minimum({ name: 'zoo_min' }), [m1, m3]),
  ]);
  m = ap(L.elu({ name: 'zoo_elu' }), m);
  let r = ap(L.repeatVector({ n: 3, name: 'zoo_repeat' }), m); // [3, 6]
  r = ap(L.layerNormalization({ name: 'zoo_ln' }), r);
  r = ap(L.dense({ units: 5, name: 'zoo_head' }), ap(L.flatten({ name: 'zoo_flat2' }), r));
  const out = ap(L.softmax({ name: 'zoo_softmax' }), r);
  return tfl.model({ inputs: inp, outputs: out });
}

/** Conv2DTranspose: stride 2 'same', stride 2 'valid' with a kernel larger than the stride, stride 1 without bias. */
function decoder(): tfl.LayersModel {
  const inp = tfl.input({ shape: [3, 4, 3], name: 'dec_img' });
  let x = ap(L.conv2dTranspose({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', name: 'dec_up1' }), inp); // [6, 8, 4]
  x = ap(L.conv2dTranspose({ filters: 3, kernelSize: [3, 2], strides: [2, 1], padding: 'valid', name: 'dec_up2' }), x); // [13, 9, 3]
  x = ap(L.conv2dTranspose({ filters: 2, kernelSize: 2, padding: 'valid', useBias: false, activation: 'tanh', name: 'dec_up3' }), x); // [14, 10, 2]
  const out = ap(L.dense({ units: 4, activation: 'softmax', name: 'dec_head' }), ap(L.globalAveragePooling2d({ name: 'dec_gap' }), x));
  return tfl.model({ inputs: inp, outputs: out });
}

describe('layer coverage', () => {
  it('Conv2DTranspose (same / valid, strides, no bias): prediction, loss, gradients', async () => {
    const model = decoder();
    randomizeWeights(model, 111, 0.5);
    await checkParity({ model, inputs: { dec_img: randomInput([2, 3, 4, 3], 112) }, labels: randomLabels(2, 4, 113) });
  });

  it('a model using most supported layers: prediction, loss, gradients', async () => {
    const model = zoo();
    randomizeWeights(model, 101, 0.4);
    const rep = await checkParity({ model, inputs: { zoo_img: randomInput([2, 6, 7, 3], 102) }, labels: randomLabels(2, 5, 103) });
    expect(rep.viaObject.outputs[0]).toEqual({ name: 'logits', source: 'zoo_softmax', softmaxStripped: true });
  });

  it('dilated Conv2D, ThresholdedReLU, LeakyReLU (prediction only: TF.js differentiates neither dilation nor Greater)', async () => {
    const inp = tfl.input({ shape: [7, 6, 2], name: 'thr_x' });
    let x = ap(L.conv2d({ filters: 3, kernelSize: 3, padding: 'same', dilationRate: 2, name: 'thr_dil' }), inp);
    x = ap(L.flatten({ name: 'thr_flat' }), x);
    x = ap(L.thresholdedReLU({ theta: 0.3, name: 'thr_t' }), x);
    x = ap(L.dense({ units: 4, name: 'thr_fc' }), x);
    x = ap(L.leakyReLU({ name: 'thr_leaky' }), x);
    const model = tfl.model({ inputs: inp, outputs: x });
    randomizeWeights(model, 121);
    await checkParity({ model, inputs: { thr_x: randomInput([3, 7, 6, 2], 122) }, labels: randomLabels(3, 4, 123), gradients: false });
  });

  it("UpSampling2D and AveragePooling2D 'same': forward equals TF.js, gradient equals finite differences of TF.js's forward", async () => {
    const inp = tfl.input({ shape: [5, 5, 2], name: 'avg_img' });
    let x = ap(L.conv2d({ filters: 3, kernelSize: 1, name: 'avg_conv' }), inp);
    x = ap(L.upSampling2d({ size: [2, 1], name: 'avg_up' }), x);
    x = ap(L.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same', name: 'avg_pool' }), x);
    x = ap(L.dense({ units: 4, name: 'avg_fc' }), ap(L.flatten({ name: 'avg_flat' }), x));
    const model = tfl.model({ inputs: inp, outputs: x });
    randomizeWeights(model, 111, 0.5);
    const xin = randomInput([2, 5, 5, 2], 112);
    const labels = randomLabels(2, 4, 113);
    const r = importLayersModelObject(model, { batchSize: 2 });
    const { out } = await forward(r.graph, { avg_img: xin });
    expectClose(out.avg_fc!.data as Float32Array, (model.predict(toTf(xin)) as tf.Tensor).dataSync(), 'prediction');
    const ours = await lossAndGrads(r.graph, { avg_img: xin }, labels, r.trainable);
    // central differences of TF.js's loss with respect to the conv kernel, in float32
    const kernel = model.getLayer('avg_conv').weights[0]!;
    const k0 = kernel.read().dataSync().slice() as Float32Array;
    const onehot = tf.oneHot(toTf(labels) as tf.Tensor1D, 4);
    const loss = (k: Float32Array) => {
      kernel.write(tf.tensor(k, kernel.shape as number[]));
      const logits = model.predict(toTf(xin)) as tf.Tensor;
      return -tf.mean(tf.sum(tf.mul(onehot, tf.logSoftmax(logits)), -1)).dataSync()[0]!;
    };
    const fd = centralDifferences(k0, loss);
    // the loss is smooth in the kernel; O(h^2) truncation and float32 rounding stay below 1e-3
    expectClose(ours.grads.get('avg_conv/kernel')!.data as Float32Array, fd, 'kernel gradient vs finite differences', 1e-3);
  });
  it('MaxPooling1D / AveragePooling1D (valid, same, strides): prediction, loss, gradients', async () => {
    const inp = tfl.input({ shape: [11, 3], name: 'p1_seq' });
    let x = ap(L.conv1d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'tanh', name: 'p1_conv' }), inp);
    x = ap(L.maxPooling1d({ poolSize: 3, strides: 2, padding: 'same', name: 'p1_max' }), x); // [6, 4]
    x = ap(L.conv1d({ filters: 5, kernelSize: 2, name: 'p1_conv2' }), x); // [5, 5]
    x = ap(L.averagePooling1d({ poolSize: 2, padding: 'valid', name: 'p1_avg' }), x); // [2, 5]
    x = ap(L.dense({ units: 3, name: 'p1_fc' }), ap(L.flatten({ name: 'p1_flat' }), x));
    const model = tfl.model({ inputs: inp, outputs: x });
    randomizeWeights(model, 131, 0.5);
    await checkParity({ model, inputs: { p1_seq: randomInput([2, 11, 3], 132) }, labels: randomLabels(2, 3, 133) });
  });

  for (const [h, w, ch, cw] of [[7, 9, 4, 8], [8, 6, 5, 6], [10, 11, 3, 2], [5, 5, 1, 4]] as const)
    it(`CenterCrop ${h}x${w} -> ${ch}x${cw}: prediction, loss, gradients`, async () => {
      const inp = tfl.input({ shape: [h, w, 2], name: 'cc_img' });
      let x = ap(L.centerCrop({ height: ch, width: cw, name: 'cc_crop' }), inp);
      x = ap(L.conv2d({ filters: 3, kernelSize: 1, name: 'cc_conv' }), x);
      x = ap(L.dense({ units: 3, name: 'cc_fc' }), ap(L.flatten({ name: 'cc_flat' }), x));
      const model = tfl.model({ inputs: inp, outputs: x });
      randomizeWeights(model, 141, 0.5);
      // TF.js's CenterCrop.computeOutputShape writes the crop size into the shape it is given: the
      // input layer's saved shape becomes the cropped one, so the real input shape is passed in
      await checkParity({ model, inputs: { cc_img: randomInput([2, h, w, 2], 142) }, labels: randomLabels(2, 3, 143), passInputShapes: true });
    });

  it('UpSampling2D bilinear (resizeBilinear to [h * sh, w * sw]): prediction, loss, gradient of the weight after it', async () => {
    const inp = tfl.input({ shape: [3, 5, 2], name: 'ub_img' });
    let x = ap(L.upSampling2d({ size: [2, 3], interpolation: 'bilinear', name: 'ub_up' }), inp);
    x = ap(L.conv2d({ filters: 3, kernelSize: 2, name: 'ub_conv' }), x);
    x = ap(L.dense({ units: 3, name: 'ub_fc' }), ap(L.flatten({ name: 'ub_flat' }), x));
    const model = tfl.model({ inputs: inp, outputs: x });
    randomizeWeights(model, 151, 0.5);
    // the resize sits on the input, so tf.grads of the weights never goes through TF.js's (wrong) resize gradient
    await checkParity({ model, inputs: { ub_img: randomInput([2, 3, 5, 2], 152) }, labels: randomLabels(2, 3, 153) });
  });
});
