/**
 * ConvTranspose attributes PyTorch's exporter does not write (auto_pad, output_shape), in float64
 * against a direct transcription of the ONNX definition: every input pixel scatters its weighted
 * kernel into the output at (i * stride - pad_begin + k * dilation). PyTorch's own exports (stride,
 * padding, output_padding, groups, dilation, 1-D) are checked in exporters.test.ts.
 */
import { CpuBackend } from '@pockengine/backend-cpu';
import { PockError, Program, tensor } from '@pockengine/core';
import { describe, expect, it } from 'vitest';
import { importOnnx } from '../src/index.js';
import { buildModel, node, type AttrValue } from './build.js';

const vals = (n: number, seed: number) => Array.from({ length: n }, (_, i) => Math.fround(Math.sin(i * 1.7 + seed) * 0.8));

interface Case {
  x: [number, number, number, number];
  /** [C_in, C_out / group, kH, kW] */
  w: [number, number, number, number];
  attrs: Record<string, AttrValue>;
  /** Expected output spatial size and begin pads (what the definition resolves the attributes to). */
  out: [number, number];
  padBegin: [number, number];
  bias?: boolean;
}

function reference(c: Case, x: number[], w: number[], bias: number[] | undefined): number[] {
  const [n, cin, h, wd] = c.x;
  const [, cpg, kh, kw] = c.w;
  const group = (c.attrs.group as number | undefined) ?? 1;
  const [sh, sw] = (c.attrs.strides as number[] | undefined) ?? [1, 1];
  const [dh, dw] = (c.attrs.dilations as number[] | undefined) ?? [1, 1];
  const cout = cpg * group;
  const [oh, ow] = c.out;
  const y = new Array<number>(n * cout * oh * ow).fill(0);
  const cinPerGroup = cin / group;
  for (let b = 0; b < n; b++)
    for (let ci = 0; ci < cin; ci++) {
      const gi = Math.floor(ci / cinPerGroup);
      for (let i = 0; i < h; i++)
        for (let j = 0; j < wd; j++)
          for (let co = 0; co < cpg; co++)
            for (let p = 0; p < kh; p++)
              for (let q = 0; q < kw; q++) {
                const r = i * sh - c.padBegin[0] + p * dh;
                const s = j * sw - c.padBegin[1] + q * dw;
                if (r < 0 || r >= oh || s < 0 || s >= ow) continue;
                y[((b * cout + gi * cpg + co) * oh + r) * ow + s]! += x[((b * cin + ci) * h + i) * wd + j]! * w[((ci * cpg + co) * kh + p) * kw + q]!;
              }
    }
  if (bias) for (let b = 0; b < n; b++) for (let co = 0; co < cout; co++) for (let k = 0; k < oh * ow; k++) y[(b * cout + co) * oh * ow + k]! += bias[co]!;
  return y;
}

async function check(c: Case): Promise<void> {
  const cout = c.w[1] * ((c.attrs.group as number | undefined) ?? 1);
  const x = vals(c.x.reduce((a, b) => a * b, 1), 1);
  const w = vals(c.w.reduce((a, b) => a * b, 1), 2);
  const bias = c.bias ? vals(cout, 3) : undefined;
  const m = importOnnx(
    buildModel({
      nodes: [node('ConvTranspose', ['x', 'W', ...(bias ? ['B'] : [])], ['y'], c.attrs, 'up')],
      inputs: [['x', 'float32', c.x]],
      outputs: ['y'],
      initializers: [['W', tensor('float32', c.w, w)], ...(bias ? [['B', tensor('float32', [cout], bias)] as [string, ReturnType<typeof tensor>]] : [])],
    }),
    { floatType: 'float64' },
  );
  const p = Program.create(m.graph, new CpuBackend());
  const got = (await p.step({ x: tensor('float64', c.x, x) })).y!;
  p.dispose();
  expect(got.shape).toEqual([c.x[0], cout, ...c.out]);
  const want = reference(c, x, w, bias);
  const worst = Array.from(got.data as Float64Array).reduce((mx, v, i) => Math.max(mx, Math.abs(v - want[i]!)), 0);
  expect(worst).toBeLessThan(1e-12);
}

describe('ConvTranspose against the ONNX definition (float64)', () => {
  it('pads and output_padding, with bias', () =>
    check({ x: [1, 2, 3, 3], w: [2, 3, 3, 3], attrs: { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] }, out: [6, 6], padBegin: [1, 1], bias: true }));
  it('auto_pad SAME_UPPER: output = input * stride, odd padding at the end', () =>
    check({ x: [1, 2, 3, 4], w: [2, 2, 4, 3], attrs: { strides: [2, 2], auto_pad: 'SAME_UPPER' }, out: [6, 8], padBegin: [1, 0] }));
  it('auto_pad SAME_LOWER: odd padding at the beginning', () =>
    check({ x: [1, 2, 3, 4], w: [2, 2, 4, 3], attrs: { strides: [2, 2], auto_pad: 'SAME_LOWER' }, out: [6, 8], padBegin: [1, 1] }));
  it('output_shape decides the padding, the odd pixel at the beginning (groups 2, dilation 2)', () =>
    check({ x: [2, 4, 3, 3], w: [4, 1, 3, 3], attrs: { strides: [2, 1], dilations: [2, 2], group: 2, output_shape: [8, 5] }, out: [8, 5], padBegin: [1, 1] }));
  it('auto_pad VALID ignores pads', () => check({ x: [1, 1, 2, 2], w: [1, 2, 2, 2], attrs: { strides: [3, 3], auto_pad: 'VALID', pads: [1, 1, 1, 1] }, out: [5, 5], padBegin: [0, 0] }));
  it('a weight whose channels do not match the input fails at the node', () => {
    const bytes = buildModel({
      nodes: [node('ConvTranspose', ['x', 'W'], ['y'], {}, 'decoder/up')],
      inputs: [['x', 'float32', [1, 3, 2, 2]]],
      outputs: ['y'],
      initializers: [['W', tensor('float32', [2, 1, 2, 2], vals(8, 1))]],
    });
    expect(() => importOnnx(bytes, { file: 'm.onnx' })).toThrowError(PockError);
    expect(() => importOnnx(bytes, { file: 'm.onnx' })).toThrowError(/decoder\/up.*expects 2 input channels|expects 2 input channels.*decoder\/up/s);
  });
});
