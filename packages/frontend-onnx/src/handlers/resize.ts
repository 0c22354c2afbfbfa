/**
 * Resize (https://onnx.ai/onnx/operators/onnx__Resize.html) and Upsample: separable per axis, so
 * each resized axis is a gather of 1, 2 or 4 taps along it (nearest, linear, cubic) whose indices
 * and weights are computed here from the static sizes; a weighted tap sum. The IR sees only gather
 * (its gradient scatters back), mul and add, so training through a resize needs nothing new.
 *
 * Coordinate modes: half_pixel, pytorch_half_pixel, align_corners, asymmetric, tf_half_pixel_for_nn;
 * nearest modes: round_prefer_floor, round_prefer_ceil, floor, ceil; cubic with cubic_coeff_a and
 * exclude_outside. Not supported (fails at the node): tf_crop_and_resize, half_pixel_symmetric,
 * antialias, keep_aspect_ratio_policy other than stretch.
 */
import { tensor, type ValueId } from '@pockengine/core';
import type { NodeContext } from '../context.js';
import type { HandlerTable } from './types.js';

interface AxisResize {
  mode: 'nearest' | 'linear' | 'cubic';
  coord: string;
  nearest: string;
  cubicA: number;
  excludeOutside: boolean;
}

/** Source coordinate of output index o (ONNX's coordinate_transformation_mode). */
function source(coord: string, o: number, scale: number, inSize: number, outSize: number): number {
  switch (coord) {
    case 'half_pixel':
      return (o + 0.5) / scale - 0.5;
    case 'pytorch_half_pixel':
      return outSize > 1 ? (o + 0.5) / scale - 0.5 : 0;
    case 'align_corners':
      return outSize === 1 ? 0 : (o * (inSize - 1)) / (outSize - 1);
    case 'asymmetric':
      return o / scale;
    case 'tf_half_pixel_for_nn':
      return (o + 0.5) / scale;
    default:
      throw new Error(`coordinate mode ${coord}`);
  }
}

function roundNearest(x: number, mode: string): number {
  const f = Math.floor(x);
  switch (mode) {
    case 'floor':
      return f;
    case 'ceil':
      return Math.ceil(x);
    case 'round_prefer_ceil':
      return x - f === 0.5 ? f + 1 : Math.round(x);
    default: // round_prefer_floor
      return x - f === 0.5 ? f : Math.round(x);
  }
}

/** Keys' cubic convolution weights of the taps at offsets -1, 0, 1, 2 from floor(x). */
function cubicCoeffs(t: number, A: number): number[] {
  const far = (d: number) => ((A * d - 5 * A) * d + 8 * A) * d - 4 * A;
  const near = (d: number) => ((A + 2) * d - (A + 3)) * d * d + 1;
  return [far(t + 1), near(t), near(1 - t), far(2 - t)];
}

/** Per tap: source index and weight of every output position along one axis. */
function taps(r: AxisResize, inSize: number, outSize: number, scale: number): { idx: number[]; w: number[] }[] {
  const clampIdx = (i: number) => Math.min(inSize - 1, Math.max(0, i));
  const count = r.mode === 'nearest' ? 1 : r.mode === 'linear' ? 2 : 4;
  const out = Array.from({ length: count }, () => ({ idx: new Array<number>(outSize), w: new Array<number>(outSize) }));
  for (let o = 0; o < outSize; o++) {
    const x = source(r.coord, o, scale, inSize, outSize);
    if (r.mode === 'nearest') {
      out[0]!.idx[o] = clampIdx(roundNearest(x, r.nearest));
      out[0]!.w[o] = 1;
    } else if (r.mode === 'linear') {
      const xc = Math.min(inSize - 1, Math.max(0, x));
      const x0 = Math.floor(xc);
      const t = xc - x0;
      out[0]!.idx[o] = x0;
      out[0]!.w[o] = 1 - t;
      out[1]!.idx[o] = Math.min(x0 + 1, inSize - 1);
      out[1]!.w[o] = t;
    } else {
      const x0 = Math.floor(x);
      const c = cubicCoeffs(x - x0, r.cubicA);
      const at = [x0 - 1, x0, x0 + 1, x0 + 2];
      if (r.excludeOutside) {
        const inside = at.map((i) => i >= 0 && i < inSize);
        const sum = c.reduce((s, v, k) => s + (inside[k] ? v : 0), 0);
        c.forEach((v, k) => (c[k] = inside[k] ? v / sum : 0));
      }
      for (let k = 0; k < 4; k++) {
        out[k]!.idx[o] = clampIdx(at[k]!);
        out[k]!.w[o] = c[k]!;
      }
    }
  }
  return out;
}

/** x resized along `axis` to outSize. */
function resizeAxis(ctx: NodeContext, x: ValueId, axis: number, outSize: number, scale: number, r: AxisResize): ValueId {
  const b = ctx.b;
  const shape = b.shape(x);
  const dtype = b.dtype(x);
  let y: ValueId | undefined;
  for (const t of taps(r, shape[axis]!, outSize, scale)) {
    const g = b.op1('gather', [x, b.constant(tensor('int32', [outSize], t.idx), `${ctx.name}/axis${axis}/idx`)], { axis });
    if (r.mode === 'nearest') return g;
    // weights along the axis, repeated over the axes after it: the product then broadcasts over
    // leading axes only (the fast kernels' form)
    const inner = shape.slice(axis + 1).reduce((p, d) => p * d, 1);
    const wv = new Array<number>(outSize * inner);
    for (let o = 0; o < outSize; o++) wv.fill(t.w[o]!, o * inner, (o + 1) * inner);
    const w = b.constant(tensor(dtype, [outSize, ...shape.slice(axis + 1)], wv), `${ctx.name}/axis${axis}/w`);
    const term = b.mul(g, w);
    y = y === undefined ? term : b.add(y, term);
  }
  return y!;
}

function resize(ctx: NodeContext, version: 'upsample' | 'resize10' | 'resize'): ValueId[] {
  const b = ctx.b;
  const x = ctx.value(0);
  const shape = b.shape(x);
  const rank = shape.length;
  const modeName = ctx.string('mode', 'nearest');
  if (modeName !== 'nearest' && modeName !== 'linear' && modeName !== 'cubic' && modeName !== 'bilinear')
    ctx.fail(`mode '${modeName}' is not supported (nearest, linear, cubic)`);
  const mode = modeName === 'bilinear' ? 'linear' : modeName;
  if (version !== 'resize' && mode === 'cubic') ctx.fail(`mode 'cubic' needs Resize from opset 11`);
  const r: AxisResize = {
    mode,
    // Upsample and Resize-10: asymmetric coordinates, nearest by floor (integer factors repeat)
    coord: version === 'resize' ? ctx.string('coordinate_transformation_mode', 'half_pixel') : 'asymmetric',
    nearest: version === 'resize' ? ctx.string('nearest_mode', 'round_prefer_floor') : 'floor',
    cubicA: ctx.float('cubic_coeff_a', -0.75),
    excludeOutside: ctx.int('exclude_outside', 0) === 1,
  };
  if (!['half_pixel', 'pytorch_half_pixel', 'align_corners', 'asymmetric', 'tf_half_pixel_for_nn'].includes(r.coord))
    ctx.fail(`coordinate_transformation_mode '${r.coord}' is not supported (half_pixel, pytorch_half_pixel, align_corners, asymmetric, tf_half_pixel_for_nn)`);
  if (!['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'].includes(r.nearest)) ctx.fail(`nearest_mode '${r.nearest}' is not supported`);
  if (ctx.int('antialias', 0) !== 0) ctx.fail('antialias=1 is not supported');
  const policy = ctx.string('keep_aspect_ratio_policy', 'stretch');
  if (policy !== 'stretch') ctx.fail(`keep_aspect_ratio_policy '${policy}' is not supported (stretch)`);
  const axesAttr = ctx.intList('axes');
  const axes = (axesAttr ?? shape.map((_, i) => i)).map((a) => (a < 0 ? a + rank : a));

  // scales and sizes: Upsample-7 scales attribute; Upsample-9 / Resize-10 input 1; Resize-11+ inputs 2 and 3
  let scales: number[] | undefined;
  let sizes: number[] | undefined;
  if (version === 'upsample' && ctx.opset < 9) scales = ctx.floatList('scales');
  else if (version !== 'resize') scales = Array.from(ctx.const(1, 'scales').data as ArrayLike<number>, Number);
  else {
    const s = ctx.maybeConst(2);
    if (ctx.has(2) && !s) ctx.fail('scales must be a constant at import time', 'import');
    if (s && s.data.length) scales = Array.from(s.data as ArrayLike<number>, Number);
    const z = ctx.maybeConst(3);
    if (ctx.has(3) && !z) ctx.fail('sizes must be a constant at import time (fix dynamic dims with inputShapes)', 'import');
    if (z && z.data.length) sizes = Array.from(z.data as ArrayLike<number>, Number);
  }
  if (!scales && !sizes) ctx.fail('needs scales or sizes');
  if (scales && sizes) ctx.fail('takes scales or sizes, not both');
  const given = (scales ?? sizes)!;
  if (given.length !== axes.length) ctx.fail(`${scales ? 'scales' : 'sizes'} has ${given.length} entries for ${axes.length} axes`, 'shape');

  let y = x;
  // last axes first: each gather then reads the already-resized trailing axes
  for (let k = axes.length - 1; k >= 0; k--) {
    const axis = axes[k]!;
    const inSize = shape[axis]!;
    const outSize = sizes ? sizes[k]! : Math.floor(inSize * scales![k]!);
    const scale = sizes ? outSize / inSize : scales![k]!;
    if (outSize < 1) ctx.fail(`axis ${axis} would be resized to ${outSize}`, 'shape');
    if (outSize === inSize && scale === 1) continue;
    y = resizeAxis(ctx, y, axis, outSize, scale, r);
  }
  return [y];
}

export const resizeHandlers: HandlerTable = {
  Resize: (ctx) => resize(ctx, ctx.opset < 11 ? 'resize10' : 'resize'),
  Upsample: (ctx) => resize(ctx, 'upsample'),
};
