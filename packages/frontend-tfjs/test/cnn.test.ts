/**
 * Convolutional models: a CNN with BatchNormalization (frozen and training mode) and
 * MobileNetV2-style inverted-residual blocks (1x1 expand, depthwise 3x3 with stride 1 and 2,
 * ReLU6, 1x1 project, residual Add, ZeroPadding2D), on odd spatial sizes so 'same' padding is
 * asymmetric.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { randomInput, randomizeWeights, randomLabels, useCpu } from './helpers.js';
import { checkParity } from './parity.js';

beforeAll(useCpu);

type ST = tfl.SymbolicTensor;

function cnnWithBn(prefix: string): tfl.LayersModel {
  const inp = tfl.input({ shape: [9, 9, 3], name: `${prefix}_img` });
  let x = tfl.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', name: `${prefix}_c1` }).apply(inp) as ST;
  x = tfl.layers.batchNormalization({ name: `${prefix}_bn1` }).apply(x) as ST;
  x = tfl.layers.reLU({ name: `${prefix}_r1` }).apply(x) as ST;
  x = tfl.layers.maxPooling2d({ poolSize: 2, strides: 2, padding: 'same', name: `${prefix}_mp` }).apply(x) as ST;
  x = tfl.layers.conv2d({ filters: 8, kernelSize: [3, 2], strides: 2, padding: 'same', useBias: false, name: `${prefix}_c2` }).apply(x) as ST;
  x = tfl.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-2, name: `${prefix}_bn2` }).apply(x) as ST;
  x = tfl.layers.activation({ activation: 'relu', name: `${prefix}_r2` }).apply(x) as ST;
  x = tfl.layers.conv2d({ filters: 8, kernelSize: 2, padding: 'valid', activation: 'tanh', name: `${prefix}_c3` }).apply(x) as ST;
  x = tfl.layers.averagePooling2d({ poolSize: 2, strides: 1, padding: 'valid', name: `${prefix}_ap` }).apply(x) as ST;
  x = tfl.layers.flatten({ name: `${prefix}_flat` }).apply(x) as ST;
  x = tfl.layers.dense({ units: 5, activation: 'softmax', name: `${prefix}_fc` }).apply(x) as ST;
  return tfl.model({ inputs: inp, outputs: x, name: prefix });
}

function mobilenetV2Blocks(prefix: string): tfl.LayersModel {
  const inp = tfl.input({ shape: [15, 15, 3], name: `${prefix}_img` });
  const n = (s: string) => `${prefix}_${s}`;
  // stem as keras.applications.MobileNetV2: explicit ZeroPadding2D, then a valid stride-2 conv
  let x = tfl.layers.zeroPadding2d({ padding: [[0, 1], [0, 1]], name: n('stem_pad') }).apply(inp) as ST;
  x = tfl.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'valid', useBias: false, name: n('stem_conv') }).apply(x) as ST;
  x = tfl.layers.batchNormalization({ name: n('stem_bn') }).apply(x) as ST;
  x = tfl.layers.reLU({ maxValue: 6, name: n('stem_relu') }).apply(x) as ST;
  const block = (x: ST, id: string, expand: number, out: number, stride: number): ST => {
    const cin = x.shape.at(-1)!;
    let h = tfl.layers.conv2d({ filters: cin * expand, kernelSize: 1, padding: 'same', useBias: false, name: n(`${id}_expand`) }).apply(x) as ST;
    h = tfl.layers.batchNormalization({ name: n(`${id}_expand_bn`) }).apply(h) as ST;
    h = tfl.layers.reLU({ maxValue: 6, name: n(`${id}_expand_relu`) }).apply(h) as ST;
    if (stride === 2) h = tfl.layers.zeroPadding2d({ padding: [[0, 1], [0, 1]], name: n(`${id}_pad`) }).apply(h) as ST;
    h = tfl.layers.depthwiseConv2d({ kernelSize: 3, strides: stride, padding: stride === 2 ? 'valid' : 'same', useBias: false, name: n(`${id}_depthwise`) }).apply(h) as ST;
    h = tfl.layers.batchNormalization({ name: n(`${id}_depthwise_bn`) }).apply(h) as ST;
    h = tfl.layers.activation({ activation: 'relu6', name: n(`${id}_depthwise_relu`) }).apply(h) as ST;
    h = tfl.layers.conv2d({ filters: out, kernelSize: 1, padding: 'same', useBias: false, name: n(`${id}_project`) }).apply(h) as ST;
    h = tfl.layers.batchNormalization({ name: n(`${id}_project_bn`) }).apply(h) as ST;
    if (stride === 1 && cin === out) h = tfl.layers.add({ name: n(`${id}_add`) }).apply([x, h]) as ST;
    return h;
  };
  x = block(x, 'block_1', 3, 8, 1);
  x = block(x, 'block_2', 4, 12, 2);
  x = block(x, 'block_3', 2, 12, 1);
  // a depthwise conv with depth multiplier 2 and a bias, stride 2 with 'same' (asymmetric) padding
  x = tfl.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, depthMultiplier: 2, padding: 'same', name: n('dw_mult') }).apply(x) as ST;
  x = tfl.layers.globalAveragePooling2d({ name: n('gap') }).apply(x) as ST;
  x = tfl.layers.dense({ units: 6, activation: 'softmax', name: n('logits') }).apply(x) as ST;
  return tfl.model({ inputs: inp, outputs: x, name: prefix });
}

describe('CNN with BatchNormalization', () => {
  it('frozen BN (TF.js training = false): prediction, loss, gradients', async () => {
    const model = cnnWithBn('cnnf');
    randomizeWeights(model, 21, 0.4);
    const rep = await checkParity({ model, inputs: { cnnf_img: randomInput([4, 9, 9, 3], 22) }, labels: randomLabels(4, 5, 23) });
    const g = rep.viaObject.graph;
    expect(g.values.filter((v) => v.role === 'buffer').map((v) => v.name).sort()).toEqual(
      ['cnnf_bn1/moving_mean', 'cnnf_bn1/moving_variance', 'cnnf_bn2/moving_mean', 'cnnf_bn2/moving_variance'],
    );
    // kernels keep TF.js's HWIO layout and names
    expect(g.values.find((v) => v.name === 'cnnf_c2/kernel')!.shape).toEqual([3, 2, 6, 8]);
  });

  it('training-mode BN (batch statistics, moving averages updated as TF.js does)', async () => {
    const model = cnnWithBn('cnnt');
    randomizeWeights(model, 31, 0.4);
    await checkParity({ model, inputs: { cnnt_img: randomInput([4, 9, 9, 3], 32) }, labels: randomLabels(4, 5, 33), batchNorm: 'train' });
  });

  it('BN without center / scale and on a rank-2 input (prediction only: TF.js cannot differentiate it)', async () => {
    const inp = tfl.input({ shape: [5, 5, 4], name: 'bnx_img' });
    let x = tfl.layers.batchNormalization({ center: false, scale: false, name: 'bnx_bn1' }).apply(inp) as ST;
    x = tfl.layers.conv2d({ filters: 3, kernelSize: 3, name: 'bnx_c' }).apply(x) as ST;
    x = tfl.layers.batchNormalization({ center: false, name: 'bnx_bn2' }).apply(x) as ST;
    x = tfl.layers.flatten({ name: 'bnx_flat' }).apply(x) as ST;
    x = tfl.layers.batchNormalization({ scale: false, name: 'bnx_bn3' }).apply(x) as ST;
    const model = tfl.model({ inputs: inp, outputs: x });
    randomizeWeights(model, 61);
    await checkParity({ model, inputs: { bnx_img: randomInput([2, 5, 5, 4], 62) }, labels: randomLabels(2, 27, 63), gradients: false });
  });
});

describe('MobileNetV2-style inverted residual blocks', () => {
  it('frozen BN', async () => {
    const model = mobilenetV2Blocks('mbf');
    randomizeWeights(model, 41, 0.3);
    const rep = await checkParity({ model, inputs: { mbf_img: randomInput([3, 15, 15, 3], 42) }, labels: randomLabels(3, 6, 43) });
    // activations stay NCHW between convolutions: one transpose for the input, none on the way out (GAP gives [N, C])
    const g = rep.viaObject.graph;
    const activationTransposes = g.nodes.filter((n) => n.op === 'transpose' && g.values[n.inputs[0]!]!.role !== 'param');
    expect(activationTransposes.length).toBe(1);
  });

  it('training-mode BN', async () => {
    const model = mobilenetV2Blocks('mbt');
    randomizeWeights(model, 51, 0.3);
    await checkParity({ model, inputs: { mbt_img: randomInput([3, 15, 15, 3], 52) }, labels: randomLabels(3, 6, 53), batchNorm: 'train' });
  });
});
