/**
 * WASM im2col / col2im kernels (Chellapilla et al., "High Performance Convolutional Neural
 * Networks for Document Processing", 2006) that lower a conv to the GEMM, and the helpers the
 * depthwise kernels (wasm-depthwise.ts) share with them.
 *
 * Kernels take a descriptor: a pointer to an Int32Array record in linear memory whose field order
 * is a `*_FIELDS` list (JS writes it, the kernel loads each field once), plus the work range
 * [c0, c1) of channels a thread owns. Ranges of different threads never write the same bytes.
 */
import { Fn, I32, Local, ModuleBuilder, type Ex } from './wasm-builder.js';

export const IM2COL_FIELDS = ['x', 'col', 'channels', 'h', 'w', 'oh', 'ow', 'kh', 'kw', 'sh', 'sw', 'dh', 'dw', 'padTop', 'padLeft'] as const;
export type Fields<K extends readonly string[]> = { [P in K[number]]: Local };

/** Loads each descriptor field (an i32 at desc + 4 * index) into a fresh local. */
export function loadFields<K extends readonly string[]>(f: Fn, desc: Local, names: K): Fields<K> {
  const out = {} as Record<string, Local>;
  names.forEach((name, i) => {
    const l = f.local(I32);
    f.set(l, f.iload(desc, 4 * i));
    out[name] = l;
  });
  return out as Fields<K>;
}

/** for (i = from; i < to; i++) dst[i] = 0 (f32 elements, dst a byte pointer). */
export function zeroRange(f: Fn, i: Local, dst: Ex, from: Ex, to: Ex): void {
  f.for(i, from, to, 1, () => f.fstore(f.add(dst, f.x4(i)), f.f32(0)));
}

/**
 * dst[0, n) = src[0, n) (or 0 without src) in f32x4 quads and a scalar tail, writing nothing past n.
 * Short rows are the common case here, and memory.copy / memory.fill are calls into the engine.
 */
export function copyFloats(f: Fn, i: Local, dst: Ex, src: Ex | null, n: Ex): void {
  f.for(i, 0, f.sub(n, 3), 4, () => f.vstore(f.add(dst, f.x4(i)), src === null ? f.vzero() : f.vload(f.add(src, f.x4(i)))));
  f.for(i, i, n, 1, () => f.fstore(f.add(dst, f.x4(i)), src === null ? f.f32(0) : f.fload(f.add(src, f.x4(i)))));
}

/**
 * Output columns [lo, hi) of a kernel column whose input column is ow*sw + shift lie inside
 * [0, width): lo = ceil(-shift / sw) clamped at 0, hi = floor((width - 1 - shift) / sw) + 1
 * clamped to [lo, outW]. Integer division only sees non-negative numerators.
 */
export function validColumns(f: Fn, lo: Local, hi: Local, shift: Ex, sw: Ex, width: Ex, outW: Ex): void {
  f.set(lo, f.select(0, f.div(f.sub(f.sub(sw, 1), shift), sw), f.ge(shift, 0)));
  const t = f.sub(f.sub(width, 1), shift);
  f.set(hi, f.select(0, f.min(outW, f.add(f.div(t, sw), 1)), f.lt(t, 0)));
  f.set(lo, f.min(lo, hi));
}

/**
 * Walks the (channel, ki, kj, oh) rows shared by im2col and col2im: `row(colRow, xRow, lo, hi)`
 * gets the byte pointer of the col row, of the x element at ow = 0 (null when the input row is
 * out of range) and the valid output columns.
 */
function im2colWalk(mod: ModuleBuilder, name: string, row: (f: Fn, d: Fields<typeof IM2COL_FIELDS>, colRow: Local, xRow: Local | null, lo: Local, hi: Local, i: Local) => void): void {
  const f = mod.fn(name, [I32, I32, I32]);
  const [desc, c0, c1] = f.params as [Local, Local, Local];
  const d = loadFields(f, desc, IM2COL_FIELDS);
  const [ci, ki, kj, oh, ih, shift, lo, hi, colRow, xRow, i] = f.locals(11, I32);
  f.set(colRow, f.add(d.col, f.x4(f.mul(f.mul(f.mul(c0, d.kh), d.kw), f.mul(d.oh, d.ow)))));
  f.for(ci, c0, c1, 1, () =>
    f.for(ki, 0, d.kh, 1, () =>
      f.for(kj, 0, d.kw, 1, () => {
        f.set(shift, f.sub(f.mul(kj, d.dw), d.padLeft));
        validColumns(f, lo, hi, shift, d.sw, d.w, d.ow);
        f.for(oh, 0, d.oh, 1, () => {
          f.set(ih, f.sub(f.add(f.mul(oh, d.sh), f.mul(ki, d.dh)), d.padTop));
          f.if(
            f.or(f.lt(ih, 0), f.ge(ih, d.h)),
            () => row(f, d, colRow, null, lo, hi, i),
            () => {
              f.set(xRow, f.add(d.x, f.x4(f.add(f.mul(f.add(f.mul(ci, d.h), ih), d.w), shift))));
              row(f, d, colRow, xRow, lo, hi, i);
            },
          );
          f.inc(colRow, f.x4(d.ow));
        });
      }),
    ),
  );
}

/** Copies (or, with `add`, accumulates) elements [lo, hi) between a col row and an x row read with stride sw. */
function rowTransfer(f: Fn, d: Fields<typeof IM2COL_FIELDS>, colRow: Local, xRow: Local, lo: Local, hi: Local, i: Local, toCol: boolean): void {
  const colAt = (k: Ex) => f.add(colRow, f.x4(k));
  const xAt = (k: Ex) => f.add(xRow, f.x4(f.mul(k, d.sw)));
  const scalar = (from: Ex) =>
    f.for(i, from, hi, 1, () => (toCol ? f.fstore(colAt(i), f.fload(xAt(i))) : f.fstore(xAt(i), f.fadd(f.fload(xAt(i)), f.fload(colAt(i))))));
  f.if(
    f.eq(d.sw, 1),
    () => {
      // contiguous: whole f32x4 quads, then the scalar tail (no writes past hi: rows of other threads follow)
      f.for(i, lo, f.sub(hi, 3), 4, () =>
        toCol ? f.vstore(colAt(i), f.vload(xAt(i))) : f.vstore(xAt(i), f.vadd(f.vload(xAt(i)), f.vload(colAt(i)))),
      );
      scalar(i);
    },
    () => scalar(lo),
  );
}

/** im2col(desc, c0, c1): col[(c*kh + ki)*kw + kj, oh*ow + ow] = x[c, oh*sh + ki*dh - pt, ow*sw + kj*dw - pl] or 0. */
function addIm2col(mod: ModuleBuilder): void {
  im2colWalk(mod, 'im2col', (f, d, colRow, xRow, lo, hi, i) => {
    if (!xRow) return copyFloats(f, i, colRow, null, d.ow);
    zeroRange(f, i, colRow, 0, lo);
    rowTransfer(f, d, colRow, xRow, lo, hi, i, true);
    zeroRange(f, i, colRow, hi, d.ow);
  });
}

/** col2im(desc, c0, c1): the adjoint of im2col, x[...] += col[...] (x must be zeroed first). */
function addCol2im(mod: ModuleBuilder): void {
  im2colWalk(mod, 'col2im', (f, d, colRow, xRow, lo, hi, i) => {
    if (xRow) rowTransfer(f, d, colRow, xRow, lo, hi, i, false);
  });
}

/** Adds im2col and col2im to the module. */
export function addIm2colKernels(mod: ModuleBuilder): void {
  addIm2col(mod);
  addCol2im(mod);
}
