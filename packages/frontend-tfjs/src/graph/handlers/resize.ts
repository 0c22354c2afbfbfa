/**
 * ResizeBilinear / ResizeNearestNeighbor(images [N, H, W, C], size [2]) with TF's align_corners and
 * half_pixel_centers, sampled exactly as TF.js's kernels sample. Each resized axis is a gather of
 * the source rows (nearest) or of the two rows around each sample weighted by its fraction
 * (bilinear); indices and weights are constants computed here from the static sizes, so the IR
 * sees only gathers, multiplies and adds, and their gradients.
 */
import { tensor, type GraphBuilder, type ValueId } from '@pockengine/core';
import { act, nchw } from '../../layout.js';
import type { OpContext, Sym } from '../context.js';
import type { OpHandlerTable } from './types.js';

interface Taps {
  lo: number[];
  hi?: number[];
  /** Weight of `hi` (bilinear); `lo` gets 1 - frac. */
  frac?: number[];
}

function taps(kind: 'bilinear' | 'nearest', inSize: number, outSize: number, alignCorners: boolean, halfPixel: boolean): Taps {
  const ac = alignCorners && outSize > 1;
  const ratio = (ac ? inSize - 1 : inSize) / (ac ? outSize - 1 : outSize);
  const lo: number[] = [];
  const hi: number[] = [];
  const frac: number[] = [];
  for (let o = 0; o < outSize; o++) {
    if (kind === 'nearest') {
      const f = halfPixel ? ratio * (o + 0.5) : ratio * o;
      let i = Math.min(inSize - 1, alignCorners ? Math.round(f) : Math.floor(f));
      if (halfPixel) i = Math.max(0, i);
      lo.push(i);
      continue;
    }
    const f = halfPixel ? ratio * (o + 0.5) - 0.5 : ratio * o;
    const i0 = Math.max(0, Math.floor(f));
    lo.push(i0);
    hi.push(Math.min(inSize - 1, Math.ceil(f)));
    frac.push(f - i0);
  }
  return kind === 'nearest' ? { lo } : { lo, hi, frac };
}

/** Resizes axis `axis` (2 or 3) of an NCHW tensor. */
function resizeAxis(b: GraphBuilder, x: ValueId, axis: 2 | 3, t: Taps, name: string): ValueId {
  const n = t.lo.length;
  const gather = (idx: number[], tag: string) => b.op1('gather', [x, b.constant(tensor('int32', [n], idx), `${name}/${tag}`)], { axis });
  const g0 = gather(t.lo, `axis${axis}/lo`);
  if (!t.hi) return g0;
  if (t.hi.every((v, i) => v === t.lo[i]) || t.frac!.every((f) => f === 0)) return g0;
  const wShape = axis === 2 ? [n, 1] : [n];
  const dt = b.dtype(x) === 'float64' ? 'float64' : 'float32';
  const w1 = b.constant(tensor(dt, wShape, t.frac!), `${name}/axis${axis}/w1`);
  const w0 = b.constant(tensor(dt, wShape, t.frac!.map((f) => 1 - f)), `${name}/axis${axis}/w0`);
  return b.add(b.mul(g0, w0), b.mul(gather(t.hi, `axis${axis}/hi`), w1));
}

function resize(kind: 'bilinear' | 'nearest') {
  return (ctx: OpContext): Sym[] => {
    ctx.requireNhwc();
    const b = ctx.b;
    const x = nchw(b, ctx.value(0), ctx.where);
    const [, , h, w] = b.shape(x) as [number, number, number, number];
    const size = ctx.ints(1, 'size');
    if (size.length !== 2 || size.some((d) => d < 1)) ctx.fail(`size must be [height, width] of positive sizes, got [${size}]`, 'shape');
    const ac = ctx.attrs.bool('align_corners', false);
    const hp = ctx.attrs.bool('half_pixel_centers', false);
    if (ac && hp) ctx.fail('align_corners and half_pixel_centers cannot both be true (TF rejects it)');
    if (b.dtype(x) !== 'float32' && b.dtype(x) !== 'float64') ctx.unsupported(`resizing ${b.dtype(x)} images is not supported`);
    let y = x;
    // the width first: the height gathers then read the already-narrowed rows
    // an unchanged size samples every row once, in place, under all three conventions
    if (size[1] !== w) y = resizeAxis(b, y, 3, taps(kind, w, size[1]!, ac, hp), ctx.node.name);
    if (size[0] !== h) y = resizeAxis(b, y, 2, taps(kind, h, size[0]!, ac, hp), ctx.node.name);
    return [act(y, true)];
  };
}

export const resizeHandlers: OpHandlerTable = {
  ResizeBilinear: resize('bilinear'),
  ResizeNearestNeighbor: resize('nearest'),
};
