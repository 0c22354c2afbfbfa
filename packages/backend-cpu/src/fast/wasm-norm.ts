/**
 * WASM-SIMD batch normalization and its backward kernel (Ioffe & Szegedy, "Batch
 * Normalization", 2015, section 3; formulas of core/ops/norm.ts) over the [outer, channels,
 * inner] layout of core's batchNormDims: channel c is `outer` contiguous runs of `inner` floats
 * starting at (o * channels + c) * inner. Kernels take a descriptor and a channel range [c0, c1),
 * so threads own whole channels; a channel's runs (tens of KiB in a CNN) stay in L2 between the
 * passes over them.
 *
 * Accuracy: statistics are two-pass like the reference kernel (mean, then the sum of squared
 * deviations); the backward sums dy * (x - mean) directly instead of the reference's expanded
 * sum(dy * x) - mean * sum(dy), which would cancel in float32; sums are blocked float32 with a
 * float64 total (`Sum`) and the per-channel scalars are float64, so only the elementwise float32
 * arithmetic differs from the reference's float64.
 */
import { F32, F64, I32, Local, ModuleBuilder, V128, type Fn } from './wasm-builder.js';
import { loadFields, type Fields } from './wasm-conv.js';
import { constant, lanes, Sum, sweep, type Lanes, type Pair, type Width } from './wasm-lanes.js';

/** Descriptor fields: byte pointers, layout, NORM_* flags and epsilon's float32 bits. */
export const BATCH_NORM_FIELDS = ['x', 'y', 'scale', 'bias', 'mean', 'variance', 'outer', 'channels', 'inner', 'flags', 'epsilon'] as const;
export const BATCH_NORM_GRAD_FIELDS = ['x', 'scale', 'mean', 'variance', 'dy', 'dx', 'dscale', 'dbias', 'outer', 'channels', 'inner', 'flags', 'epsilon'] as const;
export const LAYER_NORM_FIELDS = ['x', 'y', 'scale', 'bias', 'mean', 'invStd', 'd', 'flags', 'epsilon'] as const;
export const LAYER_NORM_GRAD_FIELDS = ['x', 'scale', 'mean', 'invStd', 'dy', 'dx', 'd'] as const;
export const NORM_EXPORTS = ['batch_norm', 'batch_norm_grad', 'layer_norm', 'layer_norm_grad'] as const;

/** Flags: batch statistics (training mode), fused relu, fused relu6 (with NORM_RELU); layer_norm: a bias is given. */
export const NORM_TRAINING = 1;
export const NORM_RELU = 2;
export const NORM_RELU6 = 4;
export const NORM_BIAS = 8;

/** Fresh locals for one block's registers. */
function temps(f: Fn, l: Lanes): Local[] {
  return f.locals(l.regs, l.width === 1 ? F32 : V128);
}

interface Layout {
  outer: Local;
  channels: Local;
  inner: Local;
}

/**
 * Calls body() once per run of channel c with each of `ptrs` (byte pointers to tensor starts)
 * advanced to the run in the matching `at` local; `i` is then swept over [0, inner).
 */
function eachRun(f: Fn, d: Layout, c: Local, ptrs: readonly [Local, Local][], body: () => void): void {
  const [o, off] = f.locals(2, I32);
  f.for(o, 0, d.outer, 1, () => {
    f.set(off, f.x4(f.mul(f.add(f.mul(o, d.channels), c), d.inner)));
    for (const [base, at] of ptrs) f.set(at, f.add(base, off));
    body();
  });
}

/** y = act((x - mean) * k + bias) for one block: relu clamps at 0, relu6 to [0, 6] (NaN passes, as clip). */
function affineBlock(f: Fn, l: Lanes, px: Local, py: Local, i: Local, mean: Pair, k: Pair, bias: Pair, six: Pair, flags: number): void {
  for (let r = 0; r < l.regs; r++) {
    let v = l.add(l.mul(l.sub(l.load(f.add(px, f.x4(i)), r), l.of(mean)), l.of(k)), l.of(bias));
    if (flags & NORM_RELU) v = l.max(v, l.zero());
    if (flags & NORM_RELU6) v = l.min(v, l.of(six));
    l.store(f.add(py, f.x4(i)), r, v);
  }
}

/**
 * Two-pass statistics of the elements `each` sweeps (x at px + 4 i; `each` runs `sum.sweep`s):
 * their mean into the f64 `mean`, then the sum of squared deviations from it into `total`.
 */
function twoPass(f: Fn, sum: Sum, each: (body: (w: Width) => void) => void, px: Local, i: Local, n: Local, mean: Local, total: Local): void {
  sum.reset();
  each((w) => {
    const l = lanes(f, w);
    sum.add(l, (k) => l.load(f.add(px, f.x4(i)), k));
  });
  sum.total(total);
  f.set(mean, f.ddiv(total, n));
  const m = constant(f, f.demote(mean));
  sum.reset();
  each((w) => {
    const l = lanes(f, w);
    const dev = temps(f, l);
    dev.forEach((v, k) => f.set(v, l.sub(l.load(f.add(px, f.x4(i)), k), l.of(m))));
    sum.add(l, (k) => l.mul(dev[k]!, dev[k]!));
  });
  sum.total(total);
}

/**
 * batch_norm(desc, c0, c1), per channel c: training: mean, biased variance -> mean[c],
 * variance[c]; eval: read them. Then y = act((x - mean) * k + bias) with
 * k = scale / sqrt(variance + eps). Per-channel scalars are float64 like the reference's; the
 * statistics are stored rounded to float32.
 */
function addBatchNorm(mod: ModuleBuilder): void {
  const f = mod.fn('batch_norm', [I32, I32, I32]);
  const [desc, c0, c1] = f.params as [Local, Local, Local];
  const d = loadFields(f, desc, BATCH_NORM_FIELDS);
  const [c, i, px, py] = f.locals(4, I32);
  const [n, total, mean, variance, eps] = f.locals(5, F64);
  const sum = new Sum(f);
  const six = constant(f, f.f32(6));
  f.set(eps, f.promote(f.fromBits(d.epsilon)));
  f.set(n, f.double(f.mul(d.outer, d.inner)));
  const chan = (ptr: Local) => f.add(ptr, f.x4(c));
  f.for(c, c0, c1, 1, () => {
    f.if(
      f.and(d.flags, NORM_TRAINING),
      () => {
        twoPass(f, sum, (body) => eachRun(f, d, c, [[d.x, px]], () => sum.sweep(i, 0, d.inner, body)), px, i, n, mean, total);
        f.set(variance, f.ddiv(total, n));
        f.fstore(chan(d.mean), f.demote(mean));
        f.fstore(chan(d.variance), f.demote(variance));
      },
      () => {
        f.set(mean, f.promote(f.fload(chan(d.mean))));
        f.set(variance, f.promote(f.fload(chan(d.variance))));
      },
    );
    const m = constant(f, f.demote(mean));
    const k = constant(f, f.demote(f.ddiv(f.promote(f.fload(chan(d.scale))), f.dsqrt(f.dadd(variance, eps)))));
    const b = constant(f, f.fload(chan(d.bias)));
    // one loop per activation: the choice is per call, not per element
    const pass = (flags: number) =>
      eachRun(f, d, c, [[d.x, px], [d.y, py]], () => sweep(f, i, 0, d.inner, (w) => affineBlock(f, lanes(f, w), px, py, i, m, k, b, six, flags)));
    f.if(
      f.and(d.flags, NORM_RELU6),
      () => pass(NORM_RELU | NORM_RELU6),
      () => f.if(f.and(d.flags, NORM_RELU), () => pass(NORM_RELU), () => pass(0)),
    );
  });
}

/**
 * batch_norm_grad(desc, c0, c1), per channel c with invStd = 1 / sqrt(variance + eps):
 *   dbias = sum(dy), dscale = invStd * sum(dy * (x - mean))
 *   dx = scale * invStd * (dy - mDy - (x - mean) * q)
 * with mDy = dbias / n and q = invStd * dscale / n in training mode (the batch statistics depend
 * on x), 0 in eval mode. Per-channel scalars are float64.
 */
function addBatchNormGrad(mod: ModuleBuilder): void {
  const f = mod.fn('batch_norm_grad', [I32, I32, I32]);
  const [desc, c0, c1] = f.params as [Local, Local, Local];
  const d: Fields<typeof BATCH_NORM_GRAD_FIELDS> = loadFields(f, desc, BATCH_NORM_GRAD_FIELDS);
  const [c, i, px, pdy, pdx] = f.locals(5, I32);
  const [n, eps, invStd, sumDy, sumDyXc, dscale] = f.locals(6, F64);
  const sDy = new Sum(f);
  const sDyXc = new Sum(f);
  f.set(eps, f.promote(f.fromBits(d.epsilon)));
  f.set(n, f.double(f.mul(d.outer, d.inner)));
  const chan = (ptr: Local) => f.add(ptr, f.x4(c));
  f.for(c, c0, c1, 1, () => {
    const mu = constant(f, f.fload(chan(d.mean)));
    f.set(invStd, f.ddiv(f.double(1), f.dsqrt(f.dadd(f.promote(f.fload(chan(d.variance))), eps))));
    sDy.reset();
    sDyXc.reset();
    // both sums flush on the same schedule: one sweep, the second Sum's flushes ride along
    eachRun(f, d, c, [[d.x, px], [d.dy, pdy]], () =>
      sDy.sweep(i, 0, d.inner, (w) => {
        const l = lanes(f, w);
        const g = temps(f, l);
        g.forEach((v, r) => f.set(v, l.load(f.add(pdy, f.x4(i)), r)));
        sDy.add(l, (r) => g[r]!);
        sDyXc.add(l, (r) => l.mul(g[r]!, l.sub(l.load(f.add(px, f.x4(i)), r), l.of(mu))));
      }, sDyXc),
    );
    sDy.total(sumDy);
    sDyXc.total(sumDyXc);
    f.set(dscale, f.dmul(sumDyXc, invStd));
    f.fstore(chan(d.dbias), f.demote(sumDy));
    f.fstore(chan(d.dscale), f.demote(dscale));
    const training = f.and(d.flags, NORM_TRAINING);
    const k = constant(f, f.demote(f.dmul(f.promote(f.fload(chan(d.scale))), invStd)));
    const mDy = constant(f, f.select(f.demote(f.ddiv(sumDy, n)), f.f32(0), training));
    const q = constant(f, f.select(f.demote(f.ddiv(f.dmul(invStd, dscale), n)), f.f32(0), training));
    eachRun(f, d, c, [[d.x, px], [d.dy, pdy], [d.dx, pdx]], () =>
      sweep(f, i, 0, d.inner, (w) => {
        const l = lanes(f, w);
        for (let r = 0; r < l.regs; r++) {
          const at = (p: Local) => f.add(p, f.x4(i));
          const xc = l.sub(l.load(at(px), r), l.of(mu));
          l.store(at(pdx), r, l.mul(l.of(k), l.sub(l.sub(l.load(at(pdy), r), l.of(mDy)), l.mul(xc, l.of(q)))));
        }
      }),
    );
  });
}

/**
 * layer_norm(desc, r0, r1) over rows [r0, r1) of x seen as [rows, d] (core's layerNormDims):
 * mean and biased variance of each row (two passes, float64 totals), invStd = 1 / sqrt(variance
 * + eps) in float64, both stored rounded to float32; y = (x - mean) * invStd * scale + bias with
 * scale and bias (NORM_BIAS; else 0) per column.
 */
function addLayerNorm(mod: ModuleBuilder): void {
  const f = mod.fn('layer_norm', [I32, I32, I32]);
  const [desc, r0, r1] = f.params as [Local, Local, Local];
  const d = loadFields(f, desc, LAYER_NORM_FIELDS);
  const [r, i, px, py] = f.locals(4, I32);
  const [n, total, mean, inv] = f.locals(4, F64);
  const sum = new Sum(f);
  f.set(n, f.double(d.d));
  f.for(r, r0, r1, 1, () => {
    f.set(px, f.add(d.x, f.x4(f.mul(r, d.d))));
    f.set(py, f.add(d.y, f.x4(f.mul(r, d.d))));
    twoPass(f, sum, (body) => sum.sweep(i, 0, d.d, body), px, i, n, mean, total);
    f.set(inv, f.ddiv(f.double(1), f.dsqrt(f.dadd(f.ddiv(total, n), f.promote(f.fromBits(d.epsilon))))));
    f.fstore(f.add(d.mean, f.x4(r)), f.demote(mean));
    f.fstore(f.add(d.invStd, f.x4(r)), f.demote(inv));
    const m = constant(f, f.demote(mean));
    const k = constant(f, f.demote(inv));
    const pass = (bias: boolean) =>
      sweep(f, i, 0, d.d, (w) => {
        const l = lanes(f, w);
        const at = (p: Local) => f.add(p, f.x4(i));
        for (let q = 0; q < l.regs; q++) {
          const v = l.mul(l.mul(l.sub(l.load(at(px), q), l.of(m)), l.of(k)), l.load(at(d.scale), q));
          l.store(at(py), q, bias ? l.add(v, l.load(at(d.bias), q)) : v);
        }
      });
    f.if(f.and(d.flags, NORM_BIAS), () => pass(true), () => pass(false));
  });
}

/**
 * layer_norm_grad(desc, r0, r1, partial) over rows [r0, r1), with g = dy * scale, xc = x - mean:
 *   dx = invStd * (g - sum(g) / d - xc * invStd^2 * sum(g xc) / d)
 * (row sums float64 totals), and this range's float64 column sums of dy * xc * invStd (dscale)
 * and dy (dbias) into `partial` (2 d float64: dscale's, then dbias's), which the caller adds up
 * over the threads' ranges.
 */
function addLayerNormGrad(mod: ModuleBuilder): void {
  const f = mod.fn('layer_norm_grad', [I32, I32, I32, I32]);
  const [desc, r0, r1, partial] = f.params as [Local, Local, Local, Local];
  const d = loadFields(f, desc, LAYER_NORM_GRAD_FIELDS);
  const [r, i, px, pdy, pdx, pb] = f.locals(6, I32);
  const [n, inv, sumG, sumGXc] = f.locals(4, F64);
  const sG = new Sum(f);
  const sGXc = new Sum(f);
  const t = f.local(V128);
  f.set(n, f.double(d.d));
  f.memfill(partial, 0, f.shl(d.d, 4));
  f.set(pb, f.add(partial, f.shl(d.d, 3)));
  /** partial[at + lane] += the lanes of v (f32x4) in float64: two f64x2 adds at byte offset 8 * column. */
  const addWide = (base: Local, col: Local, q: number, v: Local) => {
    const at = f.add(base, f.shl(f.add(col, 4 * q), 3));
    f.vstore(at, f.vdadd(f.vload(at), f.vpromoteLow(v)));
    const hi = f.add(base, f.shl(f.add(col, 4 * q + 2), 3));
    f.vstore(hi, f.vdadd(f.vload(hi), f.vpromoteLow(f.vshuffle(v, v, [2, 3, 2, 3]))));
  };
  f.for(r, r0, r1, 1, () => {
    const row = (p: Local) => f.add(p, f.x4(f.mul(r, d.d)));
    f.set(px, row(d.x));
    f.set(pdy, row(d.dy));
    f.set(pdx, row(d.dx));
    const mu = constant(f, f.fload(f.add(d.mean, f.x4(r))));
    f.set(inv, f.promote(f.fload(f.add(d.invStd, f.x4(r)))));
    sG.reset();
    sGXc.reset();
    sG.sweep(i, 0, d.d, (w) => {
      const l = lanes(f, w);
      const g = temps(f, l);
      g.forEach((v, k) => f.set(v, l.mul(l.load(f.add(pdy, f.x4(i)), k), l.load(f.add(d.scale, f.x4(i)), k))));
      sG.add(l, (k) => g[k]!);
      sGXc.add(l, (k) => l.mul(g[k]!, l.sub(l.load(f.add(px, f.x4(i)), k), l.of(mu))));
    }, sGXc);
    sG.total(sumG);
    sGXc.total(sumGXc);
    const k = constant(f, f.demote(inv));
    const a = constant(f, f.demote(f.ddiv(sumG, n)));
    const q = constant(f, f.demote(f.ddiv(f.dmul(f.dmul(inv, inv), sumGXc), n)));
    sweep(f, i, 0, d.d, (w) => {
      const l = lanes(f, w);
      const at = (p: Local) => f.add(p, f.x4(i));
      for (let j = 0; j < l.regs; j++) {
        const dy = temps(f, l)[0]!;
        const xc = temps(f, l)[0]!;
        f.set(dy, l.load(at(pdy), j));
        f.set(xc, l.sub(l.load(at(px), j), l.of(mu)));
        l.store(at(pdx), j, l.mul(l.of(k), l.sub(l.sub(l.mul(dy, l.load(at(d.scale), j)), l.of(a)), l.mul(xc, l.of(q)))));
        if (w === 1) {
          const ds = f.add(partial, f.shl(i, 3));
          f.dstore(ds, f.dadd(f.dload(ds), f.promote(f.fmul(f.fmul(dy, xc), k.s))));
          const db = f.add(pb, f.shl(i, 3));
          f.dstore(db, f.dadd(f.dload(db), f.promote(dy)));
        } else {
          f.set(t, f.vmul(f.vmul(dy, xc), k.v));
          addWide(partial, i, j, t);
          addWide(pb, i, j, dy);
        }
      }
    });
  });
}

/** Adds batch_norm, batch_norm_grad, layer_norm and layer_norm_grad to the module. */
export function addNormKernels(mod: ModuleBuilder): void {
  addBatchNorm(mod);
  addBatchNormGrad(mod);
  addLayerNorm(mod);
  addLayerNormGrad(mod);
}
