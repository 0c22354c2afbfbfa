/**
 * Direct WASM-SIMD depthwise convolution (one filter per channel) and its two backward kernels.
 * A depthwise conv is a 1 x taps by taps x ohw product per plane, too thin for the GEMM's
 * register tiles, so these kernels sweep output rows with f32x4 registers instead.
 *
 * Layout trick: the zero-padded input plane is split into `sw` column phases, phase p holding
 * padded columns p, p + sw, p + 2sw, ... Output column ow of tap (ki, kj) then reads phase
 * (kj*dw) % sw at column ow + floor(kj*dw / sw): contiguous for every stride and dilation, so one
 * f32x4 loop serves them all. Rows are computed `owv` wide (a multiple of 8) or, with unit row
 * stride, the plane is swept flat; the extra lanes read zeros or stale scratch and are dropped.
 * Work is split by channel and each kernel loops over the batch inside, so the weight gradient
 * of a channel has one writer.
 */
import { Fn, I32, Local, ModuleBuilder, V128, type Ex } from './wasm-builder.js';
import { copyFloats, loadFields, validColumns, zeroRange, type Fields } from './wasm-conv.js';
import { GEMM_RELU, GEMM_RELU6, GEMM_ROW_BIAS } from './wasm-gemm.js';

export const DEPTHWISE_FIELDS = [
  'x', 'weights', 'bias', 'y', 'dy', 'batch', 'channels', 'h', 'w', 'oh', 'ow', 'sh', 'sw', 'padTop', 'padLeft',
  /** Output row width computed (ow rounded up to 8), phase-plane rows and columns. */
  'owv', 'hp', 'wq',
  /** Number of taps kh*kw and a table of their byte offsets inside the phase planes. */
  'taps', 'tapOffsets', 'flags',
] as const;

interface DwScratch {
  /** Phase planes: sw * hp * wq floats. */
  phases: Local;
  /** dy plane padded to owv columns: oh * owv floats. */
  dyPad: Local;
  /** One output row: owv floats. */
  outRow: Local;
  /** One zero-padded input row, interleaved: sw * wq floats. */
  rowBuf: Local;
  /** Forward with unit row stride: oh rows of wq outputs. */
  outPlane: Local;
}

/** Floats of one thread's depthwise scratch (the layout of DwScratch, 16-float slack each). */
export function depthwiseScratchFloats(g: { sw: number; hp: number; wq: number; oh: number; owv: number }): number {
  const parts = [g.sw * g.hp * g.wq, g.oh * g.owv, g.owv, g.sw * g.wq, g.oh * g.wq];
  return parts.reduce((a, p) => a + Math.ceil((p + 16) / 16) * 16, 0);
}

type DwFields = Fields<typeof DEPTHWISE_FIELDS>;

/** Declares a depthwise kernel (desc, c0, c1, scratch) looping over channels and the batch. */
function depthwiseKernel(mod: ModuleBuilder, name: string, perChannel: (f: Fn, d: DwFields, s: DwScratch, ch: Local) => void, perPlane: (f: Fn, d: DwFields, s: DwScratch, ch: Local, plane: Local) => void): void {
  const f = mod.fn(name, [I32, I32, I32, I32]);
  const [desc, c0, c1, scratch] = f.params as [Local, Local, Local, Local];
  const d = loadFields(f, desc, DEPTHWISE_FIELDS);
  const s: DwScratch = { phases: scratch, dyPad: f.local(I32), outRow: f.local(I32), rowBuf: f.local(I32), outPlane: f.local(I32) };
  // same layout as depthwiseScratchFloats
  const next = (at: Local, size: Ex) => f.add(at, f.x4(f.and(f.add(size, 31), ~15)));
  f.set(s.dyPad, next(scratch, f.mul(f.mul(d.sw, d.hp), d.wq)));
  f.set(s.outRow, next(s.dyPad, f.mul(d.oh, d.owv)));
  f.set(s.rowBuf, next(s.outRow, d.owv));
  f.set(s.outPlane, next(s.rowBuf, f.mul(d.sw, d.wq)));
  // all padding the kernels rely on is zero from here on: only image elements are ever written
  f.memfill(scratch, 0, f.sub(next(s.outPlane, f.mul(d.oh, d.wq)), scratch));
  const [ch, n, plane] = f.locals(3, I32);
  f.for(ch, c0, c1, 1, () => {
    perChannel(f, d, s, ch);
    f.for(n, 0, d.batch, 1, () => {
      f.set(plane, f.add(f.mul(n, d.channels), ch));
      perPlane(f, d, s, ch, plane);
    });
  });
}

/**
 * Fills the phase planes from the x plane at byte pointer xp. Only the image's own elements are
 * written: padding (rows and columns outside the image) stays zero from the scratch clearing at
 * the kernel's start, since every plane has the same geometry. Stride 1 copies rows; stride 2
 * places a row in rowBuf (whose padding also stays zero) and splits even / odd lanes with
 * shuffles; larger strides gather element by element.
 */
function buildPhases(f: Fn, d: DwFields, s: DwScratch, xp: Ex): void {
  const [p, ih, lo, hi, dst, odd, src, j, n] = f.locals(9, I32);
  const [v0, v1] = f.locals(2, V128);
  // input rows that land in the phase planes: ih + padTop < hp
  const rows = (body: () => void) => f.for(ih, 0, f.min(d.h, f.sub(d.hp, d.padTop)), 1, body);
  const phaseRow = (phase: Ex) => f.add(s.phases, f.x4(f.mul(f.add(f.mul(phase, d.hp), f.add(ih, d.padTop)), d.wq)));
  f.if(
    f.eq(d.sw, 1),
    () => {
      f.set(n, f.max(0, f.min(d.w, f.sub(d.wq, d.padLeft))));
      rows(() => copyFloats(f, j, f.add(phaseRow(0), f.x4(d.padLeft)), f.add(xp, f.x4(f.mul(ih, d.w))), n));
    },
    () =>
      f.if(
        f.eq(d.sw, 2),
        () => {
          f.set(n, f.max(0, f.min(d.w, f.sub(f.mul(2, d.wq), d.padLeft))));
          rows(() => {
            // rowBuf[q] = x[ih, q - padLeft] for q in [0, 2*wq)
            copyFloats(f, j, f.add(s.rowBuf, f.x4(d.padLeft)), f.add(xp, f.x4(f.mul(ih, d.w))), n);
            f.set(dst, phaseRow(0));
            f.set(odd, phaseRow(1));
            f.for(j, 0, d.wq, 4, () => {
              f.set(v0, f.vload(f.add(s.rowBuf, f.shl(j, 3))));
              f.set(v1, f.vload(f.add(s.rowBuf, f.shl(j, 3)), 16));
              f.vstore(f.add(dst, f.x4(j)), f.vshuffle(v0, v1, [0, 2, 4, 6]));
              f.vstore(f.add(odd, f.x4(j)), f.vshuffle(v0, v1, [1, 3, 5, 7]));
            });
          });
        },
        () =>
          f.for(p, 0, d.sw, 1, () => {
            // element j of phase p's row is x[ih, j*sw + p - padLeft]
            validColumns(f, lo, hi, f.sub(p, d.padLeft), d.sw, d.w, d.wq);
            rows(() => {
              f.set(dst, phaseRow(p));
              f.set(src, f.add(xp, f.x4(f.sub(f.add(f.mul(ih, d.w), p), d.padLeft))));
              f.for(j, lo, hi, 1, () => f.fstore(f.add(dst, f.x4(j)), f.fload(f.add(src, f.x4(f.mul(j, d.sw))))));
            });
          }),
      ),
  );
}

/** Copies the dy plane into oh rows of owv floats; the columns past ow stay zero from the scratch clearing. */
function buildDyPad(f: Fn, d: DwFields, s: DwScratch, plane: Local): void {
  const [oh, j, src, dst] = f.locals(4, I32);
  f.set(src, f.add(d.dy, f.x4(f.mul(plane, f.mul(d.oh, d.ow)))));
  f.set(dst, s.dyPad);
  f.for(oh, 0, d.oh, 1, () => {
    copyFloats(f, j, dst, src, d.ow);
    f.inc(src, f.x4(d.ow));
    f.inc(dst, f.x4(d.owv));
  });
}

/**
 * y = act(bias + sum over taps w * x): blocks of 6, 4, 2, 1 f32x4 registers sweep the outputs, one
 * tap-loop pass per block. With unit row stride the plane is swept flat into outPlane and then
 * compacted; otherwise each output row is swept owv wide and stored straight into y, spilling
 * owv - ow floats into the rows after it, which are written later; rows whose spill would leave
 * the plane go through outRow, so no write reaches a plane of another channel (another thread's,
 * or one already done).
 */
function addDepthwiseForward(mod: ModuleBuilder): void {
  depthwiseKernel(mod, 'depthwise_forward', () => {}, (f, d, s, ch, plane) => {
    buildPhases(f, d, s, f.add(d.x, f.x4(f.mul(plane, f.mul(d.h, d.w)))));
    const [oh, ow0, t, rowBase, src, wch, yRow, out, last] = f.locals(9, I32);
    const acc = f.locals(6, V128);
    const [wv, init, six] = f.locals(3, V128);
    f.set(six, f.vsplat(f.f32(6)));
    f.set(init, f.select(f.vsplatLoad(f.add(d.bias, f.x4(ch))), f.vzero(), f.and(d.flags, GEMM_ROW_BIAS)));
    f.set(wch, f.add(d.weights, f.x4(f.mul(ch, d.taps))));
    f.set(yRow, f.add(d.y, f.x4(f.mul(plane, f.mul(d.oh, d.ow)))));
    const block = (nv: number) => {
      for (let v = 0; v < nv; v++) f.set(acc[v]!, init);
      f.for(t, 0, d.taps, 1, () => {
        f.set(wv, f.vsplatLoad(f.add(wch, f.x4(t))));
        f.set(src, f.add(f.add(rowBase, f.iload(f.add(d.tapOffsets, f.x4(t)))), f.x4(ow0)));
        for (let v = 0; v < nv; v++) f.set(acc[v]!, f.vadd(acc[v]!, f.vmul(wv, f.vload(src, 16 * v))));
      });
      f.if(f.and(d.flags, GEMM_RELU | GEMM_RELU6), () => {
        for (let v = 0; v < nv; v++) f.set(acc[v]!, f.vmax(acc[v]!, f.vzero()));
      });
      f.if(f.and(d.flags, GEMM_RELU6), () => {
        for (let v = 0; v < nv; v++) f.set(acc[v]!, f.vmin(acc[v]!, six));
      });
      for (let v = 0; v < nv; v++) f.vstore(f.add(out, f.x4(ow0)), acc[v]!, 16 * v);
    };
    /** Blocks of 6, 4, 2, 1 registers over [ow0, end) (end a multiple of 4); V8 hoists a block's loads, so 8 would spill. */
    const sweep = (end: Ex) => {
      for (const nv of [6, 4, 2, 1]) f.for(ow0, ow0, f.sub(end, 4 * nv - 1), 4 * nv, () => block(nv));
    };
    f.if(
      f.eq(d.sh, 1),
      () => {
        // unit row stride: output (oh, ow) reads phase element oh*wq + ow + offset, so the plane is
        // one flat sweep over oh*wq outputs (columns past ow are computed and dropped), then compacted
        f.set(rowBase, s.phases);
        f.set(out, s.outPlane);
        f.set(ow0, 0);
        sweep(f.and(f.add(f.mul(d.oh, d.wq), 3), ~3));
        f.for(oh, 0, d.oh, 1, () => {
          copyFloats(f, t, yRow, f.add(s.outPlane, f.x4(f.mul(oh, d.wq))), d.ow);
          f.inc(yRow, f.x4(d.ow));
        });
      },
      () =>
        f.for(oh, 0, d.oh, 1, () => {
          f.set(rowBase, f.add(s.phases, f.x4(f.mul(f.mul(oh, d.sh), d.wq))));
          // rows whose owv-wide store would cross the plane's end go through outRow
          f.set(last, f.gt(f.add(f.mul(oh, d.ow), d.owv), f.mul(d.oh, d.ow)));
          f.set(out, f.select(s.outRow, yRow, last));
          f.set(ow0, 0);
          sweep(d.owv);
          f.if(last, () => copyFloats(f, t, yRow, s.outRow, d.ow));
          f.inc(yRow, f.x4(d.ow));
        }),
    );
  });
}

/** dw[ch, t] = sum over the batch and output positions of dy * (the input under tap t). */
function addDepthwiseGradWeight(mod: ModuleBuilder): void {
  depthwiseKernel(
    mod,
    'depthwise_grad_weight',
    (f, d, _s, ch) => f.memfill(f.add(d.y, f.x4(f.mul(ch, d.taps))), 0, f.x4(d.taps)),
    (f, d, s, ch, plane) => {
      buildPhases(f, d, s, f.add(d.x, f.x4(f.mul(plane, f.mul(d.h, d.w)))));
      buildDyPad(f, d, s, plane);
      const [t, oh, ow0, off, rs, rd, out] = f.locals(7, I32);
      const [a0, a1] = f.locals(2, V128);
      f.for(t, 0, d.taps, 1, () => {
        f.set(off, f.iload(f.add(d.tapOffsets, f.x4(t))));
        f.set(a0, f.vzero());
        f.set(a1, f.vzero());
        f.for(oh, 0, d.oh, 1, () => {
          f.set(rs, f.add(f.add(s.phases, f.x4(f.mul(f.mul(oh, d.sh), d.wq))), off));
          f.set(rd, f.add(s.dyPad, f.x4(f.mul(oh, d.owv))));
          // two accumulators halve the add-latency chain (owv is a multiple of 8)
          f.for(ow0, 0, d.owv, 8, () => {
            f.set(a0, f.vadd(a0, f.vmul(f.vload(rd), f.vload(rs))));
            f.set(a1, f.vadd(a1, f.vmul(f.vload(rd, 16), f.vload(rs, 16))));
            f.inc(rd, 32);
            f.inc(rs, 32);
          });
        });
        f.set(a0, f.vadd(a0, a1));
        f.set(out, f.add(d.y, f.x4(f.add(f.mul(ch, d.taps), t))));
        f.fstore(out, f.fadd(f.fload(out), f.vsum(a0)));
      });
    },
  );
}

/** dx = the transposed depthwise conv: scatter w * dy into the phase planes, then un-split them. */
function addDepthwiseGradInput(mod: ModuleBuilder): void {
  depthwiseKernel(mod, 'depthwise_grad_input', () => {}, (f, d, s, ch, plane) => {
    buildDyPad(f, d, s, plane);
    const [oh, t, ow0, dst, rd, wch, ih, iw, r, p, j, dx] = f.locals(12, I32);
    const [wv, v0, v1] = f.locals(3, V128);
    f.memfill(s.phases, 0, f.x4(f.mul(f.mul(d.sw, d.hp), d.wq)));
    f.set(wch, f.add(d.weights, f.x4(f.mul(ch, d.taps))));
    f.for(oh, 0, d.oh, 1, () =>
      f.for(t, 0, d.taps, 1, () => {
        f.set(wv, f.vsplatLoad(f.add(wch, f.x4(t))));
        f.set(dst, f.add(f.add(s.phases, f.x4(f.mul(f.mul(oh, d.sh), d.wq))), f.iload(f.add(d.tapOffsets, f.x4(t)))));
        f.set(rd, f.add(s.dyPad, f.x4(f.mul(oh, d.owv))));
        f.for(ow0, 0, d.owv, 4, () => {
          f.vstore(dst, f.vadd(f.vload(dst), f.vmul(wv, f.vload(rd))));
          f.inc(dst, 16);
          f.inc(rd, 16);
        });
      }),
    );
    // dx[ih, iw] = phase (iw + pl) % sw, row ih + pt, column (iw + pl) / sw; 0 where no window reached
    f.set(dx, f.add(d.y, f.x4(f.mul(plane, f.mul(d.h, d.w)))));
    f.for(ih, 0, d.h, 1, () => {
      f.set(r, f.add(ih, d.padTop));
      f.if(
        f.ge(r, d.hp),
        () => copyFloats(f, iw, dx, null, d.w),
        () =>
          f.if(
            f.eq(d.sw, 1),
            () => {
              // one phase: the row is a contiguous run starting at column pl
              f.set(j, f.max(0, f.min(d.w, f.sub(d.wq, d.padLeft))));
              copyFloats(f, iw, dx, f.add(s.phases, f.x4(f.add(f.mul(r, d.wq), d.padLeft))), j);
              zeroRange(f, iw, dx, j, d.w);
            },
            () =>
              f.if(
                f.eq(d.sw, 2),
                () => {
                  // interleave the even and odd phase rows into rowBuf, then copy from column pl
                  f.set(p, f.add(s.phases, f.x4(f.mul(r, d.wq))));
                  f.set(t, f.add(p, f.x4(f.mul(d.hp, d.wq))));
                  f.for(j, 0, d.wq, 4, () => {
                    f.set(v0, f.vload(f.add(p, f.x4(j))));
                    f.set(v1, f.vload(f.add(t, f.x4(j))));
                    f.vstore(f.add(s.rowBuf, f.shl(j, 3)), f.vshuffle(v0, v1, [0, 4, 1, 5]));
                    f.vstore(f.add(s.rowBuf, f.shl(j, 3)), f.vshuffle(v0, v1, [2, 6, 3, 7]), 16);
                  });
                  f.set(j, f.max(0, f.min(d.w, f.sub(f.mul(2, d.wq), d.padLeft))));
                  copyFloats(f, iw, dx, f.add(s.rowBuf, f.x4(d.padLeft)), j);
                  zeroRange(f, iw, dx, j, d.w);
                },
                () => {
                  f.set(p, f.rem(d.padLeft, d.sw));
                  f.set(j, f.div(d.padLeft, d.sw));
                  f.for(iw, 0, d.w, 1, () => {
                    f.fstore(f.add(dx, f.x4(iw)), f.f32(0));
                    f.if(f.lt(j, d.wq), () =>
                      f.fstore(f.add(dx, f.x4(iw)), f.fload(f.add(s.phases, f.x4(f.add(f.mul(f.add(f.mul(p, d.hp), r), d.wq), j))))),
                    );
                    f.inc(p, 1);
                    f.if(f.eq(p, d.sw), () => {
                      f.set(p, 0);
                      f.inc(j, 1);
                    });
                  });
                },
              ),
          ),
      );
      f.inc(dx, f.x4(d.w));
    });
  });
}

/** Adds the depthwise forward and backward kernels to the module. */
export function addDepthwiseKernels(mod: ModuleBuilder): void {
  addDepthwiseForward(mod);
  addDepthwiseGradWeight(mod);
  addDepthwiseGradInput(mod);
}
