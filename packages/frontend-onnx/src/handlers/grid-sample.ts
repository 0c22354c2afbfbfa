/**
 * GridSample (https://onnx.ai/onnx/operators/onnx__GridSample.html; torch.nn.functional.grid_sample):
 * X [N, C, H, W] sampled at grid [N, Ho, Wo, 2] (x, y in [-1, 1]). The sampling positions are
 * computed at run time from the grid, so each tap is a gather of X's pixel rows ([N * H * W, C])
 * at flat indices computed in floats and cast to int64, times its weight (zero where the tap falls
 * outside and padding_mode is zeros). Gradients flow to X through gather (scatter_add) and to the
 * grid through the bilinear weights (floor and round have zero gradient), as in PyTorch.
 *
 * Modes: bilinear / linear and nearest (half to even, as PyTorch's nearbyint); padding zeros,
 * border and reflection; align_corners. Not supported (fails at the node): bicubic / cubic,
 * grids of other than 2 spatial dims.
 */
import { PockError, tensor, type GraphBuilder, type ValueId } from '@pockengine/core';
import type { NodeContext, Sym } from '../context.js';
import type { HandlerTable } from './types.js';

type Padding = 'zeros' | 'border' | 'reflection';

/** Grid coordinate in [-1, 1] -> pixel coordinate along an axis of length s. */
function unnormalize(b: GraphBuilder, g: ValueId, s: number, align: boolean): ValueId {
  // align: (g + 1) / 2 * (s - 1); else ((g + 1) * s - 1) / 2
  const g1 = b.add(g, b.scalarLike(1, g));
  return align ? b.mulScalar(g1, (s - 1) / 2) : b.mulScalar(b.sub(b.mulScalar(g1, s), b.scalarLike(1, g)), 0.5);
}

const clamp = (b: GraphBuilder, x: ValueId, lo: number, hi: number) => b.op1('clip', [x], { min: lo, max: hi });

const floor = (b: GraphBuilder, x: ValueId) => b.op1('floor', [x], {});

/**
 * x reflected into [lo, hi] = [twiceLo / 2, twiceHi / 2] (PyTorch's reflect_coordinates): the
 * distance from lo folded by the span, mirrored on odd folds.
 */
function reflect(b: GraphBuilder, x: ValueId, twiceLo: number, twiceHi: number): ValueId {
  if (twiceLo === twiceHi) return b.mulScalar(x, 0);
  const lo = twiceLo / 2;
  const span = (twiceHi - twiceLo) / 2;
  const d = b.op1('abs', [b.sub(x, b.scalarLike(lo, x))], {});
  const flips = floor(b, b.mulScalar(d, 1 / span));
  const extra = b.sub(d, b.mulScalar(flips, span));
  const odd = b.sub(flips, b.mulScalar(floor(b, b.mulScalar(flips, 0.5)), 2));
  const even = b.op1('equal', [odd, b.scalarLike(0, x)], {});
  return b.where(even, b.add(extra, b.scalarLike(lo, x)), b.sub(b.scalarLike(span + lo, x), extra));
}

/** Source pixel coordinate along an axis of length s, with border / reflection padding applied. */
function sourceCoord(b: GraphBuilder, g: ValueId, s: number, align: boolean, padding: Padding): ValueId {
  let c = unnormalize(b, g, s, align);
  if (padding === 'border') c = clamp(b, c, 0, s - 1);
  else if (padding === 'reflection') c = clamp(b, align ? reflect(b, c, 0, 2 * (s - 1)) : reflect(b, c, -1, 2 * s - 1), 0, s - 1);
  return c;
}

function GridSample(ctx: NodeContext): Sym[] {
  const b = ctx.b;
  const x = ctx.value(0);
  const grid = ctx.valueAs(1, b.dtype(x));
  const xs = b.shape(x);
  const gs = b.shape(grid);
  if (xs.length !== 4) ctx.fail(`input X must be 4-D [N, C, H, W], got [${xs}] (volumetric grids are not supported)`, 'shape');
  if (gs.length !== 4 || gs[3] !== 2 || gs[0] !== xs[0]) ctx.fail(`grid must be [N, H_out, W_out, 2] with N = ${xs[0]}, got [${gs}]`, 'shape');
  const mode = ctx.string('mode', ctx.opset >= 20 ? 'linear' : 'bilinear');
  if (!['bilinear', 'linear', 'nearest'].includes(mode)) ctx.fail(`mode '${mode}' is not supported (bilinear / linear, nearest)`);
  const padding = ctx.string('padding_mode', 'zeros') as Padding;
  if (!['zeros', 'border', 'reflection'].includes(padding)) ctx.fail(`padding_mode '${padding}' is not supported (zeros, border, reflection)`);
  const align = ctx.int('align_corners', 0) === 1;
  const [n, c, h, w] = xs as [number, number, number, number];
  const [, ho, wo] = gs as [number, number, number, number];
  if (n * h * w >= 2 ** 24) throw new PockError('shape', `N * H * W = ${n * h * w} is too large: sampling indices are computed in float32`, ctx.where);

  const coord = (k: number) => b.reshape(b.op1('slice', [grid], { starts: [k], ends: [k + 1], axes: [3], steps: [1] }), [n, ho, wo]);
  const ix = sourceCoord(b, coord(0), w, align, padding);
  const iy = sourceCoord(b, coord(1), h, align, padding);
  const dt = b.dtype(x);
  const image = b.constant(tensor(dt, [n, 1, 1], Array.from({ length: n }, (_, i) => i * h * w)));
  const rows = b.reshape(b.transpose(x, [0, 2, 3, 1]), [n * h * w, c]);

  /** X at integer pixel coordinates (yi, xi) [N, Ho, Wo] times weight: [N, Ho, Wo, C]; taps outside read 0. */
  const tap = (yi: ValueId, xi: ValueId, weight: ValueId | null): ValueId => {
    const inside = (v: ValueId, s: number) => b.op1('in_range', [v], { min: 0, max: s - 1, strictMin: false });
    const valid = b.op1('logical_and', [inside(yi, h), inside(xi, w)], {});
    const flat = b.add(b.add(b.mulScalar(clamp(b, yi, 0, h - 1), w), clamp(b, xi, 0, w - 1)), image);
    const wt = b.where(valid, weight ?? b.scalarLike(1, xi), b.scalarLike(0, xi));
    const v = b.op1('gather', [rows, b.cast(flat, 'int64')], { axis: 0 });
    return b.mul(v, b.reshape(wt, [n, ho, wo, 1]));
  };
  let out: ValueId;
  if (mode === 'nearest') out = tap(b.op1('round', [iy], {}), b.op1('round', [ix], {}), null);
  else {
    const x0 = floor(b, ix);
    const y0 = floor(b, iy);
    const one = b.scalarLike(1, ix);
    const [x1, y1] = [b.add(x0, one), b.add(y0, one)];
    const wx1 = b.sub(ix, x0);
    const wy1 = b.sub(iy, y0);
    const [wx0, wy0] = [b.sub(one, wx1), b.sub(one, wy1)];
    out = b.add(
      b.add(tap(y0, x0, b.mul(wy0, wx0)), tap(y0, x1, b.mul(wy0, wx1))),
      b.add(tap(y1, x0, b.mul(wy1, wx0)), tap(y1, x1, b.mul(wy1, wx1))),
    );
  }
  return [b.transpose(out, [0, 3, 1, 2])];
}

export const gridSampleHandlers: HandlerTable = { GridSample };
