/**
 * Golden printed IR of small imports: what the importer emits, not only what it computes —
 * params under their TF.js names and layouts, one transpose per kernel / boundary, the final
 * softmax gone, BN moving statistics as buffers.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { printGraph } from '@pockengine/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { importLayersModelObject } from '../src/index.js';
import { useCpu } from './helpers.js';

beforeAll(useCpu);

describe('golden IR', () => {
  // 6x6 input, 3x3 kernel, stride 2, 'same': TF pads 0 on top / left and 1 on bottom / right
  it('Conv2D + BatchNormalization + ReLU6 + GlobalAveragePooling2D + Dense(softmax)', () => {
    const inp = tfl.input({ shape: [6, 6, 2], name: 'g_img' });
    let x = tfl.layers.conv2d({ filters: 3, kernelSize: 3, strides: 2, padding: 'same', name: 'g_conv' }).apply(inp) as tfl.SymbolicTensor;
    x = tfl.layers.batchNormalization({ name: 'g_bn' }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.reLU({ maxValue: 6, name: 'g_relu6' }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.globalAveragePooling2d({ name: 'g_gap' }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.dense({ units: 4, activation: 'softmax', name: 'g_fc' }).apply(x) as tfl.SymbolicTensor;
    const r = importLayersModelObject(tfl.model({ inputs: inp, outputs: x, name: 'golden' }), { batchSize: 2 });
    expect(printGraph(r.graph)).toMatchInlineSnapshot(`
      "graph golden {
        input  %0: f32[2,6,6,2] "g_img"
        param  %1: f32[3,3,2,3] "g_conv/kernel"
        param  %2: f32[3] "g_conv/bias"
        param  %6: f32[3] "g_bn/gamma"
        param  %7: f32[3] "g_bn/beta"
        buffer %8: f32[3] "g_bn/moving_mean"
        buffer %9: f32[3] "g_bn/moving_variance"
        param  %13: f32[3,4] "g_fc/kernel"
        param  %15: f32[4] "g_fc/bias"
        %3: f32[2,2,6,6] = transpose(%0) {perm=[0,3,1,2]}  # g_conv
        %4: f32[3,2,3,3] = transpose(%1) {perm=[3,2,0,1]}  # g_conv
        %5: f32[2,3,3,3] = conv2d(%3, %4, %2) {strides=[2,2], pads=[0,0,1,1], dilations=[1,1], groups=1}  # g_conv
        %10: f32[2,3,3,3] = batch_norm(%5, %6, %7, %8, %9) {epsilon=0.001, training=false}  # g_bn
        %11: f32[2,3,3,3] = clip(%10) {min=0, max=6}  # g_relu6
        %12: f32[2,3] = reduce_mean(%11) {axes=[2,3], keepdims=false}  # g_gap
        %14: f32[2,4] = matmul(%12, %13) {transA=false, transB=false}  # g_fc
        %16: f32[2,4] = add(%14, %15)  # g_fc
        output "logits" = %16
      }"
    `);
  });
});
