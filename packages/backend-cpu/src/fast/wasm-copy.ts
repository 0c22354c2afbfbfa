/**
 * WASM-SIMD strided copy of 32-bit elements (the data movement of slice, slice_grad, concat,
 * split and expand; fast/copy.ts builds the layouts): over dims [d0, d1, d2, d3],
 * y[i0 ys0 + i1 ys1 + i2 ys2 + i3 ys3] = x[i0 xs0 + i1 xs1 + i2 xs2 + i3 xs3], strides in
 * elements (any sign; xs3 = 0 repeats one element along a row). The kernel
 * `copy(desc, r0, r1, j0, j1)` copies columns [j0, j1) of rows [r0, r1) of the d0 d1 d2 rows
 * (threads own disjoint rows, or disjoint columns of every row when there are few rows), each
 * row one of three ways:
 *
 *  - xs3 = ys3 = 1: a contiguous run, f32x4 moves (memory.copy from COPY_BULK elements);
 *  - xs3 = 0, ys3 = 1: one element splatted along the row (broadcasts, zero fills);
 *  - otherwise element by element.
 *
 * Bits move unchanged (NaN payloads included). Input and output must not overlap.
 */
import { I32, Local, ModuleBuilder, V128, type Ex, type Fn } from './wasm-builder.js';
import { loadFields, type Fields } from './wasm-conv.js';
import { sweep } from './wasm-lanes.js';

export const COPY_FIELDS = ['x', 'y', 'd0', 'd1', 'd2', 'd3', 'xs0', 'xs1', 'xs2', 'xs3', 'ys0', 'ys1', 'ys2', 'ys3'] as const;
export const COPY_EXPORTS = ['copy'] as const;

/** Rows at least this long (elements) move with memory.copy; shorter ones with f32x4 moves (no call overhead). */
export const COPY_BULK = 256;

type Desc = Fields<typeof COPY_FIELDS>;

/** Contiguous rows: len elements from src to dst. */
function runCopy(f: Fn, src: Local, dst: Local, len: Local, j: Local): void {
  f.if(
    f.ge(len, COPY_BULK),
    () => f.memcopy(dst, src, f.x4(len)),
    () =>
      sweep(f, j, 0, len, (w) => {
        if (w === 1) return f.istore(f.add(dst, f.x4(j)), f.iload(f.add(src, f.x4(j))));
        for (let r = 0; r < w / 4; r++) f.vstore(f.add(dst, f.x4(j)), f.vload(f.add(src, f.x4(j)), 16 * r), 16 * r);
      }),
  );
}

/** The element at src repeated len times from dst. */
function runSplat(f: Fn, src: Local, dst: Local, len: Local, j: Local, v: Local): void {
  f.set(v, f.vsplatLoad(src));
  sweep(f, j, 0, len, (w) => {
    if (w === 1) return f.istore(f.add(dst, f.x4(j)), f.iload(src));
    for (let r = 0; r < w / 4; r++) f.vstore(f.add(dst, f.x4(j)), v, 16 * r);
  });
}

/** Element by element with strides xs3, ys3. */
function runStrided(f: Fn, d: Desc, src: Local, dst: Local, len: Local, j: Local): void {
  const [p, q] = f.locals(2, I32);
  f.set(p, src);
  f.set(q, dst);
  f.for(j, 0, len, 1, () => {
    f.istore(q, f.iload(p));
    f.set(p, f.add(p, f.x4(d.xs3)));
    f.set(q, f.add(q, f.x4(d.ys3)));
  });
}

/** Adds copy(desc, r0, r1, j0, j1) to the module. */
export function addCopyKernels(mod: ModuleBuilder): void {
  const f = mod.fn('copy', [I32, I32, I32, I32, I32]);
  const [desc, r0, r1, j0, j1] = f.params as [Local, Local, Local, Local, Local];
  const d = loadFields(f, desc, COPY_FIELDS);
  const [r, i1, i2, src, dst, len, j] = f.locals(7, I32);
  const [xWrap2, yWrap2, xWrap1, yWrap1] = f.locals(4, I32);
  const v = f.local(V128);
  f.set(len, f.sub(j1, j0));
  // byte steps: to the next row (+ s2), and back from the end of axis 2 (or 1) to the next index of axis 1 (or 0)
  f.set(xWrap2, f.x4(f.sub(d.xs1, f.mul(d.d2, d.xs2))));
  f.set(yWrap2, f.x4(f.sub(d.ys1, f.mul(d.d2, d.ys2))));
  f.set(xWrap1, f.x4(f.sub(d.xs0, f.mul(d.d1, d.xs1))));
  f.set(yWrap1, f.x4(f.sub(d.ys0, f.mul(d.d1, d.ys1))));
  /** for each row r of [r0, r1): src / dst at its column j0, (i1, i2) kept as an odometer. */
  const rows = (body: () => void) => {
    const at = (base: Local, s0: Local, s1: Local, s2: Local, s3: Local, i0: Ex) =>
      f.add(base, f.x4(f.add(f.add(f.mul(i0, s0), f.mul(i1, s1)), f.add(f.mul(i2, s2), f.mul(j0, s3)))));
    f.set(i2, f.rem(r0, d.d2));
    f.set(i1, f.rem(f.div(r0, d.d2), d.d1));
    const i0 = f.div(f.div(r0, d.d2), d.d1);
    f.set(src, at(d.x, d.xs0, d.xs1, d.xs2, d.xs3, i0));
    f.set(dst, at(d.y, d.ys0, d.ys1, d.ys2, d.ys3, i0));
    f.for(r, r0, r1, 1, () => {
      body();
      f.set(src, f.add(src, f.x4(d.xs2)));
      f.set(dst, f.add(dst, f.x4(d.ys2)));
      f.set(i2, f.add(i2, 1));
      f.if(f.eq(i2, d.d2), () => {
        f.set(i2, 0);
        f.set(src, f.add(src, xWrap2));
        f.set(dst, f.add(dst, yWrap2));
        f.set(i1, f.add(i1, 1));
        f.if(f.eq(i1, d.d1), () => {
          f.set(i1, 0);
          f.set(src, f.add(src, xWrap1));
          f.set(dst, f.add(dst, yWrap1));
        });
      });
    });
  };
  f.if(
    f.and(f.eq(d.xs3, 1), f.eq(d.ys3, 1)),
    () => rows(() => runCopy(f, src, dst, len, j)),
    () =>
      f.if(
        f.and(f.eqz(d.xs3), f.eq(d.ys3, 1)),
        () => rows(() => runSplat(f, src, dst, len, j, v)),
        () => rows(() => runStrided(f, d, src, dst, len, j)),
      ),
  );
}
