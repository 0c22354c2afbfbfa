/** Golden snapshots of the printed IR: the mapping stays reviewable (what each jax-js model becomes). */
import { printGraph } from '@pockengine/core';
import { describe, expect, it } from 'vitest';
import { importJax } from '../src/index.js';
import { cnnApply, cnnParams, mlpApply, mlpParams } from './models.js';

describe('printed IR', () => {
  it('MLP', () => {
    expect(printGraph(importJax(mlpApply, mlpParams([5, 7, 6], 4), { x: [[3, 5], 'float32'] }))).toMatchInlineSnapshot(`
      "graph mlpApply {
        param  %0: f32[5,7] "layers.0.w"
        param  %1: f32[7] "layers.0.b"
        param  %2: f32[7,6] "layers.1.w"
        param  %3: f32[6] "layers.1.b"
        param  %4: f32[6,4] "head.w"
        param  %5: f32[4] "head.b"
        input  %6: f32[3,5] "x"
        %10: f32[3,7] = matmul(%6, %0) {transA=false, transB=false}  # 3:dot
        %11: f32[3,7] = add(%10, %1)  # 4:add
        %13: f32[3,7] = relu(%11)  # 5:max
        %17: f32[3,6] = matmul(%13, %2) {transA=false, transB=false}  # 9:dot
        %18: f32[3,6] = add(%17, %3)  # 10:add
        %19: f32[3,6] = tanh(%18)  # 11:jit
        %23: f32[3,4] = matmul(%19, %4) {transA=false, transB=false}  # 15:dot
        %24: f32[3,4] = add(%23, %5)  # 16:add
        output "logits" = %24
      }"
    `);
  });
  it('CNN', () => {
    expect(printGraph(importJax(cnnApply, cnnParams(), { x: [[2, 3, 8, 8], 'float32'] }))).toMatchInlineSnapshot(`
      "graph cnnApply {
        param  %0: f32[8,3,3,3] "conv1.w"
        param  %1: f32[8] "conv1.b"
        param  %2: f32[12,4,3,3] "conv2.w"
        param  %3: f32[12] "conv2.b"
        param  %4: f32[12,10] "dense.w"
        param  %5: f32[10] "dense.b"
        input  %6: f32[2,3,8,8] "x"
        %7: f32[2,8,8,8] = conv2d(%6, %0) {strides=[1,1], pads=[1,1,1,1], dilations=[1,1], groups=1}  # 0:conv
        %8: f32[1,8,1,1] = reshape(%1) {shape=[1,8,1,1]}  # 1:reshape
        %9: f32[2,8,8,8] = add(%7, %8)  # 2:add
        %11: f32[2,8,8,8] = relu(%9)  # 3:max
        %12: f32[2,8,4,4] = max_pool2d(%11) {kernel=[2,2], strides=[2,2], pads=[0,0,0,0], dilations=[1,1], ceilMode=false}  # 5:reduce
        %16: f32[2,12,4,4] = conv2d(%12, %2) {strides=[1,1], pads=[1,1,1,1], dilations=[1,1], groups=2}  # 9:conv
        %19: f32[1,12,1,1] = reshape(%3) {shape=[1,12,1,1]}  # 12:reshape
        %20: f32[2,12,4,4] = add(%16, %19)  # 13:add
        %21: f32[2,12,4,4] = gelu(%20) {approximate="tanh"}  # 14:jit
        %22: f32[2,12,2,2] = avg_pool2d(%21) {kernel=[2,2], strides=[2,2], pads=[0,0,0,0], ceilMode=false, countIncludePad=false}  # 16:reduce
        %27: f32[2,12] = reduce_mean(%22) {axes=[2,3], keepdims=false}  # 19:mul
        %31: f32[2,10] = matmul(%27, %4) {transA=false, transB=false}  # 23:dot
        %32: f32[2,10] = add(%31, %5)  # 24:add
        output "logits" = %32
      }"
    `);
  });
});
