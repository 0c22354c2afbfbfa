/**
 * Resize / Upsample settings PyTorch's exporter does not write, against values worked out by hand
 * from the ONNX definition; PyTorch's own exports (nearest x2, bilinear both ways, bicubic; opsets
 * 9, 10, 13) are checked with their gradients in exporters.test.ts.
 */
import { CpuBackend } from '@pockengine/backend-cpu';
import { PockError, Program, tensor, type Tensor } from '@pockengine/core';
import { describe, expect, it } from 'vitest';
import { importOnnx } from '../src/index.js';
import { buildModel, node, type AttrValue } from './build.js';

async function run(op: string, x: Tensor, attrs: Record<string, AttrValue>, consts: [string, Tensor][], inputs: string[], opset = 13): Promise<number[]> {
  const m = importOnnx(
    buildModel({ nodes: [node(op, ['x', ...inputs], ['y'], attrs, 'resize')], inputs: [['x', 'float32', [...x.shape]]], outputs: ['y'], initializers: consts, opset }),
    { floatType: 'float64' },
  );
  const p = Program.create(m.graph, new CpuBackend());
  const y = (await p.step({ x: tensor('float64', x.shape, x.data as Float32Array) })).y!;
  p.dispose();
  return Array.from(y.data as Float64Array);
}

const row = (v: number[]) => tensor('float32', [1, 1, 1, v.length], v);
const scales = (v: number[]) => ['scales', tensor('float32', [v.length], v)] as [string, Tensor];
const sizes = (v: number[]) => ['sizes', tensor('int64', [v.length], v)] as [string, Tensor];
const close = (got: number[], want: number[]) => {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(g).toBeCloseTo(want[i]!, 10));
};

describe('Resize / Upsample against the ONNX definition', () => {
  it('Upsample (opset 9) nearest by 3 and 2 repeats pixels (floor of o / scale)', async () => {
    const got = await run('Upsample', tensor('float32', [1, 1, 2, 2], [1, 2, 3, 4]), { mode: 'nearest' }, [scales([1, 1, 3, 2])], ['scales'], 9);
    close(got, [1, 1, 2, 2, 1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4, 3, 3, 4, 4]);
  });
  it('nearest with tf_half_pixel_for_nn and round_prefer_ceil', async () => {
    // x = (o + 0.5) / 2 for o = 0..7: 0.25 0.75 1.25 1.75 2.25 2.75 3.25 3.75 -> ceil on ties, round otherwise
    const got = await run('Resize', row([10, 20, 30, 40]), { mode: 'nearest', coordinate_transformation_mode: 'tf_half_pixel_for_nn', nearest_mode: 'round_prefer_ceil' }, [scales([1, 1, 1, 2])], ['', 'scales']);
    close(got, [10, 20, 20, 30, 30, 40, 40, 40]);
    // half_pixel with ceil: x = (o + 0.5) / 2 - 0.5 = -0.25 0.25 0.75 ... -> 0 1 1 2 2 3 3 4 (clamped to 3)
    const ceil = await run('Resize', row([10, 20, 30, 40]), { mode: 'nearest', nearest_mode: 'ceil' }, [scales([1, 1, 1, 2])], ['', 'scales']);
    close(ceil, [10, 20, 20, 30, 30, 40, 40, 40]);
  });
  it('linear half_pixel downsampling by sizes, and pytorch_half_pixel to one pixel', async () => {
    // 4 -> 2: x = (o + 0.5) * 2 - 0.5 = 0.5, 2.5
    close(await run('Resize', row([1, 2, 3, 4]), { mode: 'linear' }, [sizes([1, 1, 1, 2])], ['', '', 'sizes']), [1.5, 3.5]);
    // pytorch_half_pixel with one output pixel reads x = 0; half_pixel reads (0.5) * 4 - 0.5 = 1.5
    close(await run('Resize', row([1, 2, 3, 4]), { mode: 'linear', coordinate_transformation_mode: 'pytorch_half_pixel' }, [sizes([1, 1, 1, 1])], ['', '', 'sizes']), [1]);
    close(await run('Resize', row([1, 2, 3, 4]), { mode: 'linear' }, [sizes([1, 1, 1, 1])], ['', '', 'sizes']), [2.5]);
  });
  it('opset 18 axes: sizes for the listed axes only', async () => {
    const got = await run('Resize', tensor('float32', [1, 1, 2, 2], [1, 2, 3, 4]), { mode: 'linear', coordinate_transformation_mode: 'align_corners', axes: [3] }, [sizes([3])], ['', '', 'sizes'], 18);
    close(got, [1, 1.5, 2, 3, 3.5, 4]);
  });
  it('cubic keeps a constant image constant, with and without exclude_outside', async () => {
    for (const exclude of [0, 1]) {
      const got = await run('Resize', tensor('float32', [1, 1, 3, 3], Array(9).fill(2.5)), { mode: 'cubic', exclude_outside: exclude, cubic_coeff_a: { f: -0.5 } }, [scales([1, 1, 2, 1.5])], ['', 'scales']);
      expect(got.length).toBe(6 * 4);
      close(got, Array(24).fill(2.5));
    }
  });
  it('what is not supported fails at the node', () => {
    const bytes = (attrs: Record<string, AttrValue>) =>
      buildModel({ nodes: [node('Resize', ['x', '', 'scales'], ['y'], attrs, 'head/upsample')], inputs: [['x', 'float32', [1, 1, 2, 2]]], outputs: ['y'], initializers: [scales([1, 1, 2, 2])], opset: 18 });
    for (const [attrs, msg] of [
      [{ coordinate_transformation_mode: 'tf_crop_and_resize' }, /tf_crop_and_resize.*not supported/],
      [{ antialias: 1 }, /antialias/],
      [{ mode: 'area' }, /mode 'area' is not supported/],
    ] as [Record<string, AttrValue>, RegExp][]) {
      let err: unknown;
      try {
        importOnnx(bytes(attrs), { file: 'm.onnx' });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(PockError);
      expect(String((err as Error).message)).toMatch(msg);
      expect(String((err as Error).message)).toMatch(/head\/upsample/);
    }
  });
});
