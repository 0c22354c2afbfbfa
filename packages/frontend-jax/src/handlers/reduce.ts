/**
 * Reductions and pooling. jax-js pools in two steps (lax.reduce_window): `pool` views the last
 * n axes as windows, giving [..., out_1..out_n, k_1..k_n] with out_i = ceil((size - k + 1) / s),
 * then `reduce` over the window axes. The pool handler defers (a LazyPool); when the reduction
 * is a max or sum over exactly the window axes of one or two spatial dims, the pair becomes
 * max_pool2d / avg_pool2d (floor-mode output size floor((size - k) / s) + 1 is the same number).
 * Any other use materializes the windows with strided slices.
 */
import type { ValueId } from '@pockengine/core';
import type { EqnContext, HandlerTable, Importer, LazyPool } from '../context.js';

type Table = Partial<HandlerTable>;

const outSize = (n: number, k: number, s: number) => Math.ceil((n - k + 1) / s);

/** The windows of a pool as plain IR: one strided slice per window offset, concatenated. */
export function materializePool(imp: Importer, p: LazyPool): ValueId {
  const xs = imp.shape(p.x);
  const n = p.window.length;
  const lead = xs.length - n;
  const axes = p.window.map((_, i) => lead + i);
  const outs = p.window.map((k, i) => outSize(xs[lead + i]!, k, p.strides[i]!));
  const pieces: ValueId[] = [];
  const offset = p.window.map(() => 0);
  const total = p.window.reduce((a, k) => a * k, 1);
  for (let t = 0; t < total; t++) {
    // row-major window offsets: the last window axis varies fastest, as jax-js lays them out
    let r = t;
    for (let i = n - 1; i >= 0; i--) {
      offset[i] = r % p.window[i]!;
      r = Math.floor(r / p.window[i]!);
    }
    const starts = offset.slice();
    const ends = offset.map((o, i) => o + (outs[i]! - 1) * p.strides[i]! + 1);
    const piece = imp.slice(p.x, axes, starts, ends, p.strides);
    pieces.push(imp.reshape(piece, [...imp.shape(piece), 1]));
  }
  const cat = pieces.length === 1 ? pieces[0]! : imp.op('concat', pieces, { axis: -1 });
  return imp.reshape(cat, p.shape);
}

/** max / sum over exactly the window axes of a 1-D or 2-D pool -> max_pool2d / avg_pool2d. */
function fusedPool(ctx: EqnContext<'reduce'>, p: LazyPool): ValueId | undefined {
  const { op, axis } = ctx.params;
  const n = p.window.length;
  const r = p.shape.length;
  const windowAxes = p.window.map((_, i) => r - n + i);
  const sorted = [...axis].sort((a, b) => a - b);
  if ((op !== 'Max' && op !== 'Add') || n > 2 || sorted.length !== n || sorted.some((a, i) => a !== windowAxes[i])) return undefined;
  const imp = ctx.imp;
  const dt = imp.dtype(p.x);
  if (dt !== 'float32' && dt !== 'float64') return undefined;
  const xs = imp.shape(p.x);
  const lead = xs.slice(0, xs.length - n);
  const spatial = xs.slice(xs.length - n);
  // NCHW: fold the leading axes into channels; a 1-D pool gets H = 1
  const h = n === 2 ? spatial[0]! : 1;
  const w = spatial[n - 1]!;
  const kernel = n === 2 ? [...p.window] : [1, p.window[0]!];
  const strides = n === 2 ? [...p.strides] : [1, p.strides[0]!];
  const x4 = imp.reshape(p.x, n === 2 && lead.length === 2 ? xs : [1, lead.reduce((a, d) => a * d, 1), h, w]);
  const pads = [0, 0, 0, 0];
  let y =
    op === 'Max'
      ? imp.op('max_pool2d', [x4], { kernel, strides, pads, dilations: [1, 1], ceilMode: false })
      : imp.op('avg_pool2d', [x4], { kernel, strides, pads, ceilMode: false, countIncludePad: false });
  if (op === 'Add') y = imp.op('mul', [y, imp.literal(kernel[0]! * kernel[1]!, dt)], {});
  return imp.reshape(y, ctx.outShape());
}

export const reduceHandlers = {
  /** Sum and max map directly; min is -max(-x); bool max/min are any/all. No keepdims in jax-js. */
  reduce: (ctx) => {
    const imp = ctx.imp;
    const p = ctx.lazy(0);
    const fused = p && fusedPool(ctx, p);
    if (fused !== undefined) return [fused];
    const { op, axis } = ctx.params;
    const x = ctx.input(0);
    if (axis.length === 0) return [x];
    const attrs = { axes: [...axis], keepdims: false };
    const dt = imp.dtype(x);
    if (dt === 'bool' && (op === 'Max' || op === 'Min')) {
      const f = imp.cast(x, 'float32');
      const r = op === 'Max' ? imp.op('reduce_max', [f], attrs) : imp.op('neg', [imp.op('reduce_max', [imp.op('neg', [f], {})], attrs)], {});
      return [imp.op('greater', [r, imp.literal(0, 'float32')], {})];
    }
    switch (op) {
      case 'Add':
        return [imp.op('reduce_sum', [x], attrs)];
      case 'Max':
        return [imp.op('reduce_max', [x], attrs)];
      case 'Min':
        return [imp.op('neg', [imp.op('reduce_max', [imp.op('neg', [x], {})], attrs)], {})];
      default:
        return ctx.unsupported(`reduction '${op}' (the IR has sum, mean and max reductions)`);
    }
  },
  pool: (ctx) => [{ kind: 'pool', x: ctx.input(0), window: ctx.params.window, strides: ctx.params.strides, shape: ctx.outShape() }],
  pool_transpose: (ctx) => ctx.unsupported('pool_transpose is a gradient primitive; trace the forward function only'),
  sort: (ctx) => ctx.unsupported('the IR has no sort'),
  argsort: (ctx) => ctx.unsupported('the IR has no sort'),
} satisfies Table;
