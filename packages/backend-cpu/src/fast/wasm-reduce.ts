/**
 * WASM-SIMD sums over the first and third axes of x seen as [lead, outer, k, inner], into y of
 * [outer, inner]: y[o, i] = (sum over l < lead, j < k of x[l, o, j, i]) / divisor, the divisor
 * 1 (reduce_sum) or the count (reduce_mean), as i32. lead = 1 is a reduction over one run of
 * axes; lead > 1 adds a second run in front (a conv bias gradient: [N, C, H, W] over N, H, W).
 * `plane` = outer * k * inner elements, the stride of l.
 *
 *   reduce_rows(x, y, k, divisor, r0, r1, lead, plane)                 inner = 1: rows [r0, r1) of [rows, k]
 *   reduce_cols(x, y, k, inner, divisor, o0, o1, c0, c1, lead, plane)  inner > 1: columns [c0, c1) of blocks [o0, o1)
 *
 * Every term is promoted to float64 and summed in f64x2 lanes (several independent partial
 * sums per row or column), divided in float64 and rounded to float32 once, as the reference
 * kernel does (kernels/reduce.ts sums in float64 too, in another order): results agree with it
 * to within one float32 ulp unless the sum cancels so badly that float64 rounding errors
 * (about k 2^-53 sum |x|) reach half a float32 ulp of the result. reduce_cols walks 16
 * columns (one cache line) down all k rows with eight f64x2 accumulators, so each line of x is
 * read once. Pointers are byte addresses; x and y must not overlap.
 */
import { F64, I32, Local, ModuleBuilder, V128, type Ex, type Fn } from './wasm-builder.js';
import { sweep, type Width } from './wasm-lanes.js';

export const REDUCE_EXPORTS = ['reduce_rows', 'reduce_cols'] as const;

/** acc[2r] += the low two lanes of the f32x4 v, acc[2r + 1] += its high two, in float64. */
function addPromoted(f: Fn, acc: readonly Local[], r: number, v: Ex, t: Local): void {
  f.set(t, v);
  f.set(acc[2 * r]!, f.vdadd(acc[2 * r]!, f.vpromoteLow(t)));
  f.set(acc[2 * r + 1]!, f.vdadd(acc[2 * r + 1]!, f.vpromoteLow(f.vshuffle(t, t, [2, 3, 2, 3]))));
}

function addRows(mod: ModuleBuilder): void {
  const f = mod.fn('reduce_rows', [I32, I32, I32, I32, I32, I32, I32, I32]);
  const [x, y, k, divisor, r0, r1, lead, plane] = f.params as Local[] as [Local, Local, Local, Local, Local, Local, Local, Local];
  const [r, p, j, l] = f.locals(4, I32);
  const acc = f.locals(8, V128);
  const t = f.local(V128);
  const [s, total] = f.locals(2, F64);
  const pair = (a: number, b: number) => f.vdadd(acc[a]!, acc[b]!);
  f.for(r, r0, r1, 1, () => {
    for (const a of acc) f.set(a, f.vdsplat(f.f64(0)));
    f.set(s, f.f64(0));
    // row r of every leading plane
    f.for(l, 0, lead, 1, () => {
      f.set(p, f.add(x, f.x4(f.add(f.mul(l, plane), f.mul(r, k)))));
      sweep(f, j, 0, k, (w: Width) => {
        if (w === 1) return f.set(s, f.dadd(s, f.promote(f.fload(f.add(p, f.x4(j))))));
        for (let q = 0; q < w / 4; q++) addPromoted(f, acc, q, f.vload(f.add(p, f.x4(j)), 16 * q), t);
      });
    });
    f.set(t, f.vdadd(f.vdadd(pair(0, 1), pair(2, 3)), f.vdadd(pair(4, 5), pair(6, 7))));
    f.set(total, f.dadd(f.dadd(f.vdlane(t, 0), f.vdlane(t, 1)), s));
    f.fstore(f.add(y, f.x4(r)), f.demote(f.ddiv(total, f.double(divisor))));
  });
}

function addCols(mod: ModuleBuilder): void {
  const f = mod.fn('reduce_cols', Array<typeof I32>(11).fill(I32));
  const [x, y, k, inner, divisor, o0, o1, c0, c1, lead, plane] = f.params as Local[] as [Local, Local, Local, Local, Local, Local, Local, Local, Local, Local, Local];
  const [o, base, yBase, c, p, n, stride, l] = f.locals(8, I32);
  const acc = f.locals(8, V128);
  const t = f.local(V128);
  const s = f.local(F64);
  const dv = f.local(V128);
  f.set(dv, f.vdsplat(f.double(divisor)));
  f.set(stride, f.x4(inner));
  // y lanes 4q .. 4q + 3 of a block: acc[2q] and acc[2q + 1] divided and rounded
  const packed = (q: number) => f.vshuffle(f.vdemote(f.vddiv(acc[2 * q]!, dv)), f.vdemote(f.vddiv(acc[2 * q + 1]!, dv)), [0, 1, 4, 5]);
  // column c of block o, down its k rows, in every leading plane
  const down = (body: () => void) =>
    f.for(l, 0, lead, 1, () => {
      f.set(p, f.add(f.add(base, f.x4(f.mul(l, plane))), f.x4(c)));
      f.for(n, 0, k, 1, () => {
        body();
        f.set(p, f.add(p, stride));
      });
    });
  f.for(o, o0, o1, 1, () => {
    f.set(base, f.add(x, f.x4(f.mul(f.mul(o, k), inner))));
    f.set(yBase, f.add(y, f.x4(f.mul(o, inner))));
    sweep(f, c, c0, c1, (w: Width) => {
      if (w === 1) {
        f.set(s, f.f64(0));
        down(() => f.set(s, f.dadd(s, f.promote(f.fload(p)))));
        return f.fstore(f.add(yBase, f.x4(c)), f.demote(f.ddiv(s, f.double(divisor))));
      }
      const regs = w / 4;
      for (let a = 0; a < 2 * regs; a++) f.set(acc[a]!, f.vdsplat(f.f64(0)));
      down(() => {
        for (let q = 0; q < regs; q++) addPromoted(f, acc, q, f.vload(p, 16 * q), t);
      });
      for (let q = 0; q < regs; q++) f.vstore(f.add(yBase, f.x4(c)), packed(q), 16 * q);
    });
  });
}

/** Adds reduce_rows and reduce_cols to the module. */
export function addReduceKernels(mod: ModuleBuilder): void {
  addRows(mod);
  addCols(mod);
}
