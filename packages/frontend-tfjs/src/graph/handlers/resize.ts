/**
 * ResizeBilinear / ResizeNearestNeighbor(images [N, H, W, C], size [2]) with TF's align_corners and
 * half_pixel_centers, sampled exactly as TF.js's kernels sample (layout.ts resizeNchw).
 */
import { act, nchw, resizeNchw } from '../../layout.js';
import type { OpContext, Sym } from '../context.js';
import type { OpHandlerTable } from './types.js';

function resize(kind: 'bilinear' | 'nearest') {
  return (ctx: OpContext): Sym[] => {
    ctx.requireNhwc();
    const b = ctx.b;
    const x = nchw(b, ctx.value(0), ctx.where);
    const size = ctx.ints(1, 'size');
    if (size.length !== 2 || size.some((d) => d < 1)) ctx.fail(`size must be [height, width] of positive sizes, got [${size}]`, 'shape');
    const ac = ctx.attrs.bool('align_corners', false);
    const hp = ctx.attrs.bool('half_pixel_centers', false);
    if (ac && hp) ctx.fail('align_corners and half_pixel_centers cannot both be true (TF rejects it)');
    if (b.dtype(x) !== 'float32' && b.dtype(x) !== 'float64') ctx.unsupported(`resizing ${b.dtype(x)} images is not supported`);
    return [act(resizeNchw(b, x, kind, [size[0]!, size[1]!], ac, hp, ctx.node.name), true)];
  };
}

export const resizeHandlers: OpHandlerTable = {
  ResizeBilinear: resize('bilinear'),
  ResizeNearestNeighbor: resize('nearest'),
};
