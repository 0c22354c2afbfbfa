/**
 * WASM-SIMD transpose of float32 (or any 32-bit) elements, as a strided gather into a
 * contiguous output of (padded, merged) rank 4: out[i0, i1, i2, i3] = x[i0 s0 + i1 s1 + i2 s2 +
 * i3 s3] with out of shape [d0, d1, d2, d3] (strides in elements, see fast/transpose.ts). The
 * kernel `transpose(desc, p0, p1)` writes planes [p0, p1) of the d0 * d1 planes (threads own
 * disjoint planes), each plane one of three ways:
 *
 *  - s3 = 1: rows of d3 contiguous elements, copied with f32x4 moves (head splits
 *    [B,S,H,Dh] <-> [B,H,S,Dh]);
 *  - s2 = 1: a 2D transpose of [d3, d2] into [d2, d3] in 4 x 4 tiles (four loads along i2, a
 *    shuffle transpose, four stores along i3), scalar edges (K^T: [B,H,S,Dh] -> [B,H,Dh,S]);
 *  - otherwise element by element.
 *
 * Bits move unchanged (NaN payloads included). Input and output must not overlap.
 */
import { I32, Local, ModuleBuilder, V128, type Ex, type Fn } from './wasm-builder.js';
import { loadFields, type Fields } from './wasm-conv.js';
import { sweep } from './wasm-lanes.js';

export const TRANSPOSE_FIELDS = ['x', 'y', 'd0', 'd1', 'd2', 'd3', 's0', 's1', 's2', 's3'] as const;
export const TRANSPOSE_EXPORTS = ['transpose'] as const;

type Desc = Fields<typeof TRANSPOSE_FIELDS>;

/** Rows of d3 contiguous floats: y[i2, :] = x[i2 s2 : i2 s2 + d3]. */
function rowCopy(f: Fn, d: Desc, src: Local, dst: Local): void {
  const [i2, j, from, to] = f.locals(4, I32);
  f.for(i2, 0, d.d2, 1, () => {
    f.set(from, f.add(src, f.x4(f.mul(i2, d.s2))));
    f.set(to, f.add(dst, f.x4(f.mul(i2, d.d3))));
    sweep(f, j, 0, d.d3, (w) => {
      if (w === 1) return f.istore(f.add(to, f.x4(j)), f.iload(f.add(from, f.x4(j))));
      for (let r = 0; r < w / 4; r++) f.vstore(f.add(to, f.x4(j)), f.vload(f.add(from, f.x4(j)), 16 * r), 16 * r);
    });
  });
}

/** y[i2, i3] = x[i2 + i3 s3] over [d2, d3]: 4 x 4 tiles, then the leftover rows and columns. */
function tiled(f: Fn, d: Desc, src: Local, dst: Local): void {
  const [i2, i3, e2, e3, k, col, c, p] = f.locals(8, I32);
  const v = f.locals(4, V128);
  const t = f.locals(4, V128);
  const scalar = (from2: Ex, to2: Ex, from3: Ex, to3: Ex) =>
    f.for(col, from3, to3, 1, () =>
      f.for(k, from2, to2, 1, () =>
        f.istore(f.add(dst, f.x4(f.add(f.mul(k, d.d3), col))), f.iload(f.add(src, f.x4(f.add(k, f.mul(col, d.s3)))))),
      ),
    );
  f.set(e2, f.and(d.d2, ~3));
  f.set(e3, f.and(d.d3, ~3));
  f.for(i3, 0, e3, 4, () => {
    f.for(i2, 0, e2, 4, () => {
      f.set(p, f.add(src, f.x4(f.add(i2, f.mul(i3, d.s3)))));
      v.forEach((r, n) => f.set(r, f.vload(f.add(p, f.x4(f.mul(n, d.s3))))));
      f.set(t[0]!, f.vshuffle(v[0]!, v[1]!, [0, 4, 1, 5]));
      f.set(t[1]!, f.vshuffle(v[2]!, v[3]!, [0, 4, 1, 5]));
      f.set(t[2]!, f.vshuffle(v[0]!, v[1]!, [2, 6, 3, 7]));
      f.set(t[3]!, f.vshuffle(v[2]!, v[3]!, [2, 6, 3, 7]));
      f.set(p, f.add(dst, f.x4(f.add(f.mul(i2, d.d3), i3))));
      f.vstore(p, f.vshuffle(t[0]!, t[1]!, [0, 1, 4, 5]));
      f.vstore(f.add(p, f.x4(d.d3)), f.vshuffle(t[0]!, t[1]!, [2, 3, 6, 7]));
      f.vstore(f.add(p, f.x4(f.mul(d.d3, 2))), f.vshuffle(t[2]!, t[3]!, [0, 1, 4, 5]));
      f.vstore(f.add(p, f.x4(f.mul(d.d3, 3))), f.vshuffle(t[2]!, t[3]!, [2, 3, 6, 7]));
    });
    // rows e2..d2 of this column block
    f.set(c, f.add(i3, 4));
    scalar(e2, d.d2, i3, c);
  });
  // columns e3..d3, every row
  scalar(0, d.d2, e3, d.d3);
}

/** y[i2, i3] = x[i2 s2 + i3 s3], element by element. */
function gather(f: Fn, d: Desc, src: Local, dst: Local): void {
  const [i2, i3, from, to] = f.locals(4, I32);
  f.for(i2, 0, d.d2, 1, () => {
    f.set(from, f.add(src, f.x4(f.mul(i2, d.s2))));
    f.set(to, f.add(dst, f.x4(f.mul(i2, d.d3))));
    f.for(i3, 0, d.d3, 1, () => f.istore(f.add(to, f.x4(i3)), f.iload(f.add(from, f.x4(f.mul(i3, d.s3))))));
  });
}

/** Adds transpose(desc, p0, p1) to the module. */
export function addTransposeKernels(mod: ModuleBuilder): void {
  const f = mod.fn('transpose', [I32, I32, I32]);
  const [desc, p0, p1] = f.params as [Local, Local, Local];
  const d = loadFields(f, desc, TRANSPOSE_FIELDS);
  const [p, src, dst] = f.locals(3, I32);
  f.for(p, p0, p1, 1, () => {
    // plane p = (i0, i1): input at i0 s0 + i1 s1, output at p d2 d3
    f.set(src, f.add(d.x, f.x4(f.add(f.mul(f.div(p, d.d1), d.s0), f.mul(f.rem(p, d.d1), d.s1)))));
    f.set(dst, f.add(d.y, f.x4(f.mul(p, f.mul(d.d2, d.d3)))));
    f.if(
      f.eq(d.s3, 1),
      () => rowCopy(f, d, src, dst),
      () => f.if(f.eq(d.s2, 1), () => tiled(f, d, src, dst), () => gather(f, d, src, dst)),
    );
  });
}
