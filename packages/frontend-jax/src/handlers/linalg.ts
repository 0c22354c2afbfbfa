/**
 * dot and conv. jax-js has no dot_general: its `dot` is sum(x * y, axis=-1) with NumPy
 * broadcasting of the other axes, and matmul / einsum reach it through transposes and reshapes
 * that put a size-1 axis on one side (x [M,1,K] . y [1,N,K]). Each non-contracted axis is
 * therefore a batch axis (both sides have it), an M axis (x only) or an N axis (y only), which
 * is a batched matmul [B,M,K] x [B,N,K]^T after moving axes; transposes that only swap the last
 * two axes fold into transA / transB.
 * `conv` is lax.conv_general_dilated in NCHW / OIHW with `vmapDims` leading batch-of-convs axes
 * (how jax-js expresses feature_group_count): those become conv2d groups. With lhs dilation it is a
 * transposed convolution (lax.conv_transpose), which becomes conv2d_grad_input.
 */
import { broadcastShapes, size, type ValueId } from '@pockengine/core';
import type { HandlerTable, Importer } from '../context.js';

type Table = Partial<HandlerTable>;
type ConvCtx = Parameters<NonNullable<Table['conv']>>[0];

/**
 * conv with lhs (input) dilation s, unit window strides, rhs dilation d and padding (lo, hi):
 * lax.conv_transpose. It is conv2d_grad_input (the adjoint of a stride-s conv) with the kernel
 * flipped and its O / I axes swapped, pads (K - 1) d - lo and (K - 1) d - hi: output position
 * o = h s + lo - k d of input h and tap k is exactly where the adjoint sends h through tap K-1-k.
 */
function transposedConv(ctx: ConvCtx): ValueId {
  const imp = ctx.imp;
  const { vmapDims: v, strides, padding, lhsDilation, rhsDilation } = ctx.params;
  const nsp = strides.length;
  const what = `lhs dilation ${JSON.stringify(lhsDilation)} (a transposed convolution)`;
  if (v !== 0) ctx.unsupported(`${what} with feature groups (vmapped convs)`);
  if (nsp !== 1 && nsp !== 2) ctx.unsupported(`${what} in ${nsp}-D`);
  if (strides.some((st) => st !== 1)) ctx.unsupported(`${what} with window strides ${JSON.stringify(strides)}`);
  const dt = ctx.outDtype();
  let [x, w] = ctx.inputs().map((t) => imp.cast(t, dt)) as [ValueId, ValueId];
  const ks = imp.shape(w).slice(2);
  const pads = padding.map(([lo, hi], i) => [(ks[i]! - 1) * rhsDilation[i]! - lo, (ks[i]! - 1) * rhsDilation[i]! - hi] as const);
  if (pads.some(([a, b]) => a < 0 || b < 0)) ctx.unsupported(`${what} padded by more than the kernel extent (${JSON.stringify(padding)})`);
  const xs = imp.shape(x);
  const outSp = xs.slice(2).map((n, i) => (n - 1) * lhsDilation[i]! + 1 + padding[i]![0] + padding[i]![1] - (ks[i]! - 1) * rhsDilation[i]!);
  let st = [...lhsDilation];
  let dil = [...rhsDilation];
  let pp = pads;
  let out = outSp;
  if (nsp === 1) {
    x = imp.reshape(x, [xs[0]!, xs[1]!, 1, xs[2]!]);
    w = imp.reshape(w, [...imp.shape(w).slice(0, 2), 1, ks[0]!]);
    st = [1, st[0]!];
    dil = [1, dil[0]!];
    pp = [[0, 0], pp[0]!];
    out = [1, out[0]!];
  }
  // OIHW -> [I, O, kh, kw], flipped spatially
  const flipAxes = [2, 3].filter((a) => imp.shape(w)[a]! > 1);
  const big = Number.MIN_SAFE_INTEGER;
  const wt = imp.slice(imp.transpose(w, [1, 0, 2, 3]), flipAxes, flipAxes.map(() => -1), flipAxes.map(() => big), flipAxes.map(() => -1));
  const [n] = imp.shape(x) as [number];
  const o = imp.shape(w)[0]!;
  const y = imp.op('conv2d_grad_input', [x, wt], {
    strides: st,
    pads: [pp[0]![0], pp[1]![0], pp[0]![1], pp[1]![1]],
    dilations: dil,
    groups: 1,
    inputShape: [n, o, out[0]!, out[1]!],
  });
  return imp.reshape(y, ctx.outShape());
}

/** Keeps `axes` of v (the others have size 1), ordered as given, as one [prod(group)...] shape. */
function gatherAxes(imp: Importer, v: ValueId, axes: readonly number[], groups: readonly number[][]): ValueId {
  const s = imp.shape(v);
  const kept = [...axes].sort((a, b) => a - b);
  const squeezed = imp.reshape(v, kept.map((a) => s[a]!));
  const moved = imp.transpose(squeezed, axes.map((a) => kept.indexOf(a)));
  return imp.reshape(moved, groups.map((g) => size(g.map((a) => s[a]!))));
}

/** True when `perm` swaps the last two axes and keeps the rest. */
const swapsLastTwo = (perm: readonly number[]) => {
  const r = perm.length;
  return r >= 2 && perm[r - 1] === r - 2 && perm[r - 2] === r - 1 && perm.slice(0, -2).every((p, i) => p === i);
};

function matmulOf(imp: Importer, x: ValueId, y: ValueId): ValueId {
  let transA = false;
  let transB = true;
  const px = imp.producer(x);
  if (px?.op === 'transpose' && swapsLastTwo(px.attrs.perm as number[])) {
    x = px.inputs[0]!;
    transA = true;
  }
  const py = imp.producer(y);
  if (py?.op === 'transpose' && swapsLastTwo(py.attrs.perm as number[])) {
    y = py.inputs[0]!;
    transB = false;
  }
  return imp.op('matmul', [x, y], { transA, transB });
}

export const linalgHandlers = {
  dot: (ctx) => {
    const imp = ctx.imp;
    const dt = ctx.outDtype();
    let [x, y] = ctx.inputs().map((v) => imp.cast(v, dt)) as [ValueId, ValueId];
    const r = Math.max(imp.shape(x).length, imp.shape(y).length);
    const pad = (v: ValueId) => imp.reshape(v, [...Array(r - imp.shape(v).length).fill(1), ...imp.shape(v)]);
    x = pad(x);
    y = pad(y);
    // a contracted axis of size 1 on one side broadcasts
    const k = Math.max(imp.shape(x)[r - 1]!, imp.shape(y)[r - 1]!);
    if (imp.shape(x)[r - 1] !== k) x = imp.expand(x, [...imp.shape(x).slice(0, -1), k]);
    if (imp.shape(y)[r - 1] !== k) y = imp.expand(y, [...imp.shape(y).slice(0, -1), k]);
    const xs = imp.shape(x);
    const ys = imp.shape(y);
    const batch: number[] = [];
    const m: number[] = [];
    const n: number[] = [];
    for (let a = 0; a < r - 1; a++) {
      if (xs[a] === ys[a]) {
        if (xs[a] !== 1) batch.push(a);
      } else if (ys[a] === 1) m.push(a);
      else n.push(a);
    }
    const last = r - 1;
    const lead = batch.length ? [batch] : [];
    const xm = gatherAxes(imp, x, [...batch, ...m, last], [...lead, m, [last]]);
    const ym = gatherAxes(imp, y, [...batch, ...n, last], [...lead, n, [last]]);
    let z = matmulOf(imp, xm, ym);
    // z is [batch..., m..., n...] flattened: unflatten, put axes back in order, restore size-1 axes
    z = imp.reshape(z, [...batch.map((a) => xs[a]!), ...m.map((a) => xs[a]!), ...n.map((a) => ys[a]!)]);
    const order = [...batch, ...m, ...n];
    const sorted = [...order].sort((a, b) => a - b);
    z = imp.transpose(z, sorted.map((a) => order.indexOf(a)));
    return [imp.reshape(z, ctx.outShape())];
  },

  conv: (ctx) => {
    const imp = ctx.imp;
    const { vmapDims: v, strides, padding, lhsDilation, rhsDilation } = ctx.params;
    const nsp = strides.length;
    if (lhsDilation.some((d) => d !== 1)) return [transposedConv(ctx)];
    if (nsp !== 1 && nsp !== 2) ctx.unsupported(`${nsp}-D convolution (the IR has conv2d; 1-D maps through it)`);
    const dt = ctx.outDtype();
    let [x, w] = ctx.inputs().map((t) => imp.cast(t, dt)) as [ValueId, ValueId];
    // negative padding crops the input
    const xs0 = imp.shape(x);
    const crop = padding.map(([lo, hi], i) => ({ a: v + 2 + i, s: Math.max(0, -lo), e: xs0[v + 2 + i]! - Math.max(0, -hi) })).filter((c) => c.s > 0 || c.e < xs0[c.a]!);
    x = imp.slice(x, crop.map((c) => c.a), crop.map((c) => c.s), crop.map((c) => c.e));
    let pads = padding.map(([lo, hi]) => [Math.max(0, lo), Math.max(0, hi)] as const);
    let st = [...strides];
    let dil = [...rhsDilation];
    if (nsp === 1) {
      // 1-D: H = 1
      x = imp.reshape(x, [...imp.shape(x).slice(0, -1), 1, imp.shape(x).at(-1)!]);
      w = imp.reshape(w, [...imp.shape(w).slice(0, -1), 1, imp.shape(w).at(-1)!]);
      pads = [[0, 0], pads[0]!];
      st = [1, st[0]!];
      dil = [1, dil[0]!];
    }
    // vmapDims: G independent convs [V..., N, C, H, W] * [V..., O, C, kh, kw] = one conv with G groups
    const vshape = broadcastShapes(imp.shape(x).slice(0, v), imp.shape(w).slice(0, v));
    const g = size(vshape);
    x = imp.expand(x, [...vshape, ...imp.shape(x).slice(v)]);
    w = imp.expand(w, [...vshape, ...imp.shape(w).slice(v)]);
    const [nb, c, h, wd] = imp.shape(x).slice(v) as [number, number, number, number];
    const [o, ci, kh, kw] = imp.shape(w).slice(v) as [number, number, number, number];
    const x4 = g === 1 ? imp.reshape(x, [nb, c, h, wd]) : imp.reshape(imp.transpose(imp.reshape(x, [g, nb, c, h, wd]), [1, 0, 2, 3, 4]), [nb, g * c, h, wd]);
    const w4 = imp.reshape(w, [g * o, ci, kh, kw]);
    const attrs = { strides: st, pads: [pads[0]![0], pads[1]![0], pads[0]![1], pads[1]![1]], dilations: dil, groups: g };
    let y = imp.op('conv2d', [x4, w4], attrs);
    const [, , oh, ow] = imp.shape(y) as [number, number, number, number];
    if (g !== 1) y = imp.transpose(imp.reshape(y, [nb, g, o, oh, ow]), [1, 0, 2, 3, 4]);
    return [imp.reshape(y, ctx.outShape())];
  },

  triangular_solve: (ctx) => ctx.unsupported('the IR has no linear solvers'),
  cholesky: (ctx) => ctx.unsupported('the IR has no matrix factorizations'),
  lu: (ctx) => ctx.unsupported('the IR has no matrix factorizations'),
  jacobi_eigh: (ctx) => ctx.unsupported('the IR has no eigendecomposition'),
  fft: (ctx) => ctx.unsupported('the IR has no FFT'),
} satisfies Table;
