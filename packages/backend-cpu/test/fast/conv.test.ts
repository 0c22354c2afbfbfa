/**
 * Conformance of the fast conv2d, conv2d_grad_input and conv2d_grad_weight kernels against the
 * reference kernels, on every engine: pointwise (no im2col), general im2col, strided, padded
 * (asymmetric), dilated, grouped, depthwise (direct kernel) and channel-multiplier depthwise
 * (grouped GEMM), odd sizes everywhere. Also the fused bias + relu / relu6 epilogue.
 */
import { convGeometry, type ConvAttrs } from '@pockengine/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convKernels } from '../../src/kernels/conv.js';
import { conv2dForward, createFastKernels, isDepthwise } from '../../src/fast/index.js';
import { disposeAll, empty, engines, expectClose, rand, type EngineCase } from './helpers.js';

interface ConvCase {
  name: string;
  x: number[];
  w: number[];
  strides?: number[];
  pads?: number[];
  dilations?: number[];
  groups?: number;
  bias?: boolean;
}

const CASES: ConvCase[] = [
  { name: 'pointwise 1x1', x: [2, 8, 5, 7], w: [12, 8, 1, 1], bias: true },
  { name: 'pointwise wide', x: [1, 33, 6, 11], w: [70, 33, 1, 1] },
  { name: 'pointwise 3x3 planes, batch 8 (one GEMM over the batch)', x: [8, 40, 3, 3], w: [70, 40, 1, 1], bias: true },
  { name: 'pointwise 8x8 planes, batch 3 (folded at the size limit)', x: [3, 9, 8, 8], w: [13, 9, 1, 1] },
  { name: 'pointwise 9x10 planes, batch 3 (one batched GEMM over the images)', x: [3, 8, 9, 10], w: [12, 8, 1, 1], bias: true },
  { name: 'pointwise groups 3, batch 2 (a batched GEMM per group)', x: [2, 9, 9, 9], w: [6, 3, 1, 1], groups: 3, bias: true },
  { name: '1x1 stride 2 (needs im2col)', x: [2, 8, 9, 9], w: [16, 8, 1, 1], strides: [2, 2] },
  { name: '1x1 padded', x: [1, 5, 4, 3], w: [6, 5, 1, 1], pads: [1, 0, 0, 2], bias: true },
  { name: '3x3 same', x: [2, 3, 9, 11], w: [5, 3, 3, 3], pads: [1, 1, 1, 1], bias: true },
  { name: '3x3 stride 2 asymmetric pads', x: [2, 4, 10, 9], w: [7, 4, 3, 3], strides: [2, 2], pads: [1, 0, 2, 1] },
  { name: '3x3 stride (2,3)', x: [1, 3, 11, 13], w: [4, 3, 3, 3], strides: [2, 3], pads: [0, 1, 1, 0], bias: true },
  { name: '3x3 dilation 2', x: [1, 4, 10, 9], w: [6, 4, 3, 3], dilations: [2, 2], pads: [2, 2, 2, 2] },
  { name: 'dilation (1,3) stride 2', x: [2, 2, 12, 14], w: [3, 2, 3, 2], dilations: [1, 3], strides: [2, 2], pads: [1, 2, 0, 1] },
  { name: '7x7 stem stride 2', x: [1, 3, 15, 13], w: [8, 3, 7, 7], strides: [2, 2], pads: [3, 3, 3, 3], bias: true },
  { name: '1x5 and pads', x: [1, 3, 6, 9], w: [5, 3, 1, 5], pads: [0, 2, 0, 2] },
  { name: '5x1 valid', x: [2, 2, 8, 3], w: [3, 2, 5, 1] },
  { name: 'kernel = input (1x1 output)', x: [3, 4, 5, 5], w: [6, 4, 5, 5], bias: true },
  { name: 'many channels (k spans 2 blocks)', x: [1, 40, 7, 6], w: [37, 40, 3, 3], pads: [1, 1, 1, 1], bias: true },
  { name: 'groups 2', x: [2, 6, 7, 7], w: [4, 3, 3, 3], groups: 2, pads: [1, 1, 1, 1], bias: true },
  { name: 'groups 3 pointwise', x: [1, 9, 4, 5], w: [6, 3, 1, 1], groups: 3 },
  { name: 'depthwise 3x3 same', x: [2, 5, 9, 10], w: [5, 1, 3, 3], groups: 5, pads: [1, 1, 1, 1], bias: true },
  { name: 'depthwise 3x3 stride 2', x: [2, 4, 11, 12], w: [4, 1, 3, 3], groups: 4, strides: [2, 2], pads: [1, 1, 1, 1] },
  { name: 'depthwise 5x5 dilation 2 stride (2,3)', x: [1, 3, 17, 19], w: [3, 1, 5, 5], groups: 3, strides: [2, 3], dilations: [2, 2], pads: [2, 3, 1, 4], bias: true },
  { name: 'depthwise 1x1 output', x: [1, 2, 3, 3], w: [2, 1, 3, 3], groups: 2 },
  { name: 'depthwise narrow planes across a batch', x: [3, 5, 4, 2], w: [5, 1, 3, 3], groups: 5, pads: [1, 1, 1, 1], bias: true },
  { name: 'depthwise wide row', x: [1, 3, 2, 41], w: [3, 1, 1, 3], groups: 3, pads: [0, 1, 0, 1] },
  { name: 'depthwise stride 3 > kernel', x: [2, 2, 10, 10], w: [2, 1, 2, 2], groups: 2, strides: [3, 3], pads: [0, 0, 1, 1] },
  { name: 'depthwise pads larger than input', x: [1, 2, 2, 3], w: [2, 1, 3, 3], groups: 2, pads: [2, 2, 2, 2], bias: true },
  { name: 'depthwise pads beyond the kernel extent (scatter dx)', x: [2, 3, 4, 5], w: [3, 1, 3, 3], groups: 3, pads: [3, 1, 0, 3] },
  { name: 'depthwise multiplier 2 (grouped GEMM)', x: [1, 3, 6, 6], w: [6, 1, 3, 3], groups: 3, pads: [1, 1, 1, 1] },
];

function attrsOf(c: ConvCase): ConvAttrs {
  return { strides: c.strides ?? [1, 1], pads: c.pads ?? [0, 0, 0, 0], dilations: c.dilations ?? [1, 1], groups: c.groups ?? 1 };
}

describe('fast conv kernels match the reference kernels', () => {
  let cases: EngineCase[] = [];
  beforeAll(async () => {
    cases = await engines();
  });
  afterAll(() => disposeAll(cases));

  it('exercises the depthwise kernel and the GEMM path', () => {
    const dw = CASES.filter((c) => isDepthwise(convGeometry(c.x, c.w, attrsOf(c))));
    expect(dw.length).toBeGreaterThanOrEqual(6);
    expect(CASES.length - dw.length).toBeGreaterThanOrEqual(15);
  });

  for (const c of CASES)
    it(c.name, () => {
      const attrs = attrsOf(c);
      const g = convGeometry(c.x, c.w, attrs);
      const yShape = [g.n, g.m, g.oh, g.ow];
      const x = rand(c.x, 11);
      const w = rand(c.w, 12);
      const b = c.bias ? rand([g.m], 13) : undefined;
      const dy = rand(yShape, 14);
      const inputs = b ? [x, w, b] : [x, w];
      const y0 = empty(yShape);
      convKernels.conv2d(inputs, [y0], attrs);
      const dx0 = empty(c.x);
      const gi = { ...attrs, inputShape: c.x };
      convKernels.conv2d_grad_input([dy, w], [dx0], gi);
      const dw0 = empty(c.w);
      const gw = { ...attrs, weightShape: c.w };
      convKernels.conv2d_grad_weight([x, dy], [dw0], gw);
      const taps = g.kh * g.kw;
      for (const { name, engine } of cases) {
        const k = createFastKernels(() => engine);
        const y = empty(yShape);
        k.conv2d(inputs, [y], attrs);
        expectClose(y.data, y0.data, g.cPerGroup * taps + 1, `${name} forward`);
        const dx = empty(c.x);
        k.conv2d_grad_input([dy, w], [dx], gi);
        expectClose(dx.data, dx0.data, g.mPerGroup * taps, `${name} grad_input`);
        const dw = empty(c.w);
        k.conv2d_grad_weight([x, dy], [dw], gw);
        expectClose(dw.data, dw0.data, g.n * g.oh * g.ow, `${name} grad_weight`);
      }
    });

  for (const act of ['relu', 'relu6'] as const)
    for (const c of [CASES[0]!, CASES[4]!, CASES[16]!])
      it(`fused bias + ${act}: ${c.name}`, () => {
        const attrs = attrsOf(c);
        const g = convGeometry(c.x, c.w, attrs);
        const yShape = [g.n, g.m, g.oh, g.ow];
        // scaled up so relu6 clips a good share of outputs
        const x = rand(c.x, 21);
        x.data.forEach((v, i) => (x.data[i] = 4 * v));
        const w = rand(c.w, 22);
        const b = rand([g.m], 23);
        const want = empty(yShape);
        convKernels.conv2d([x, w, b], [want], attrs);
        want.data.forEach((v, i) => (want.data[i] = Math.min(act === 'relu6' ? 6 : Infinity, Math.max(0, v))));
        for (const { name, engine } of cases) {
          const y = empty(yShape);
          conv2dForward(engine, x, w, b, y, attrs, act);
          expectClose(y.data, want.data, 16 * (g.cPerGroup * g.kh * g.kw + 1), `${name} ${act}`);
        }
      });
});
