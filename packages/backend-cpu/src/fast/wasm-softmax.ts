/**
 * WASM-SIMD row kernels of softmax cross-entropy (and softmax) over the rows [r0, r1) of x
 * ([rows, classes] float32, threads own disjoint row ranges); stats is a byte address of two
 * float64 per row:
 *
 * row_stats(x, classes, stats, r0, r1): stats[2r] = max_c x[r, c] (a NaN is skipped, like the
 * reference kernel's max, and still makes the sum NaN), stats[2r + 1] = sum_c exp(x[r, c] - max)
 * with exp and the sum in float64 (expDouble of wasm-unary.ts; x - max is exact in float64 and
 * clamped at -150 by a pseudo-max, which keeps NaN: e^-150 is far below anything the sum or a
 * float32 result can hold).
 *
 * row_softmax(x, y, classes, stats, r0, r1): y[r, c] = exp(x[r, c] - stats[2r]) * stats[2r + 1],
 * in float64 and rounded to float32 once (stats[2r] = the row's log-sum-exp, stats[2r + 1] =
 * the scale), so within one float32 ulp of the reference kernels' float64 evaluation.
 *
 * Tails narrower than four lanes run the vector code on a splat and keep lane 0.
 */
import { F32, F64, I32, Local, ModuleBuilder, V128, type Ex, type Fn } from './wasm-builder.js';
import { sweep } from './wasm-lanes.js';
import { expDouble } from './wasm-unary.js';

export const SOFTMAX_EXPORTS = ['row_stats', 'row_softmax'] as const;

/** The lower clamp of x - max or x - lse: e^-150 is 7e-66. */
const FLOOR = -150;


/** Low (k = 0) or high (k = 1) two lanes of the f32x4 local v as f64x2. */
function half(f: Fn, v: Local, k: number): Ex {
  return f.vpromoteLow(k === 0 ? v : f.vshuffle(v, v, [2, 3, 2, 3]));
}

function addRowStats(mod: ModuleBuilder): void {
  const f = mod.fn('row_stats', [I32, I32, I32, I32, I32]);
  const [x, classes, stats, r0, r1] = f.params as Local[] as [Local, Local, Local, Local, Local];
  const [r, i, row] = f.locals(3, I32);
  const mx = f.locals(4, V128);
  const ms = f.local(F32);
  const md = f.local(V128);
  const acc = f.locals(8, V128);
  const tail = f.local(F64);
  const v = f.locals(4, V128);
  const d = f.locals(8, V128);
  const k = f.locals(8, V128);
  const at = () => f.add(row, f.x4(i));
  f.for(r, r0, r1, 1, () => {
    f.set(row, f.add(x, f.x4(f.mul(r, classes))));
    // row max: four f32x4 maxima (pseudo-max: NaN is skipped, as the reference kernel's max does;
    // it still makes the row's sum NaN) and a NaN-propagating scalar one for the tail
    for (const m of mx) f.set(m, f.vsplat(f.f32(-Infinity)));
    f.set(ms, f.f32(-Infinity));
    sweep(f, i, 0, classes, (w) => {
      if (w === 1) return f.set(ms, f.fmax(ms, f.fload(at())));
      for (let j = 0; j < w / 4; j++) f.set(mx[j]!, f.vpmax(mx[j]!, f.vload(at(), 16 * j)));
    });
    f.set(mx[0]!, f.vmax(f.vmax(mx[0]!, mx[1]!), f.vmax(mx[2]!, mx[3]!)));
    f.set(ms, f.fmax(f.fmax(ms, f.fmax(f.vlane(mx[0]!, 0), f.vlane(mx[0]!, 1))), f.fmax(f.vlane(mx[0]!, 2), f.vlane(mx[0]!, 3))));
    // sum of exp(x - max) in float64
    f.set(md, f.vdsplat(f.promote(ms)));
    for (const a of acc) f.set(a, f.vzero());
    f.set(tail, f.f64(0));
    const term = (j: number, value: Ex) => {
      f.set(d[j]!, f.vdpmax(f.vdsub(value, md), f.vdsplat(f.f64(FLOOR))));
      return expDouble(f, d[j]!, k[j]!);
    };
    sweep(f, i, 0, classes, (w) => {
      if (w === 1) return f.set(tail, f.dadd(tail, f.vdlane(term(0, f.vpromoteLow(f.vsplatLoad(at()))), 0)));
      for (let j = 0; j < w / 4; j++) f.set(v[j]!, f.vload(at(), 16 * j));
      for (let j = 0; j < w / 4; j++)
        for (let h = 0; h < 2; h++) f.set(acc[2 * j + h]!, f.vdadd(acc[2 * j + h]!, term(2 * j + h, half(f, v[j]!, h))));
    });
    for (let j = 1; j < 8; j++) f.set(acc[0]!, f.vdadd(acc[0]!, acc[j]!));
    const s = f.add(stats, f.mul(r, 16));
    f.dstore(s, f.promote(ms));
    f.dstore(s, f.dadd(f.dadd(f.vdlane(acc[0]!, 0), f.vdlane(acc[0]!, 1)), tail), 8);
  });
}

function addRowSoftmax(mod: ModuleBuilder): void {
  const f = mod.fn('row_softmax', [I32, I32, I32, I32, I32, I32]);
  const [x, y, classes, stats, r0, r1] = f.params as Local[] as [Local, Local, Local, Local, Local, Local];
  const [r, i, row, out] = f.locals(4, I32);
  const [lse, scale] = f.locals(2, V128);
  const v = f.locals(4, V128);
  const lo = f.locals(4, V128);
  const d = f.locals(8, V128);
  const k = f.locals(8, V128);
  f.for(r, r0, r1, 1, () => {
    f.set(row, f.add(x, f.x4(f.mul(r, classes))));
    f.set(out, f.add(y, f.x4(f.mul(r, classes))));
    const s = f.add(stats, f.mul(r, 16));
    f.set(lse, f.vdsplat(f.dload(s)));
    f.set(scale, f.vdsplat(f.dload(s, 8)));
    const value = (j: number, t: Ex) => {
      f.set(d[j]!, f.vdpmax(f.vdsub(t, lse), f.vdsplat(f.f64(FLOOR))));
      return f.vdemote(f.vdmul(expDouble(f, d[j]!, k[j]!), scale));
    };
    sweep(f, i, 0, classes, (w) => {
      if (w === 1) {
        f.set(lo[0]!, value(0, f.vpromoteLow(f.vsplatLoad(f.add(row, f.x4(i))))));
        return f.fstore(f.add(out, f.x4(i)), f.vlane(lo[0]!, 0));
      }
      const regs = w / 4;
      for (let j = 0; j < regs; j++) f.set(v[j]!, f.vload(f.add(row, f.x4(i)), 16 * j));
      for (let j = 0; j < regs; j++) {
        f.set(lo[j]!, value(2 * j, half(f, v[j]!, 0)));
        f.set(v[j]!, f.vshuffle(lo[j]!, value(2 * j + 1, half(f, v[j]!, 1)), [0, 1, 4, 5]));
      }
      for (let j = 0; j < regs; j++) f.vstore(f.add(out, f.x4(i)), v[j]!, 16 * j);
    });
  });
}

/** Adds row_stats and row_softmax to the module. */
export function addSoftmaxKernels(mod: ModuleBuilder): void {
  addRowStats(mod);
  addRowSoftmax(mod);
}
