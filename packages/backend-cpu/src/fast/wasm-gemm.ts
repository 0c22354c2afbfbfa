/**
 * WASM-SIMD float32 GEMM in the Goto/BLIS structure (Goto & van de Geijn, "Anatomy of
 * High-Performance Matrix Multiplication", TOMS 2008; Van Zee & van de Geijn, "BLIS", TOMS 2015):
 *
 *   for jc (NC columns of C)            B panel kc x nc packed once per (jc, pc): stays in L2/L3
 *     for pc (KC of the k axis)
 *       for ic (MC rows of C)           A block mc x kc packed: stays in L2
 *         for jr (NR columns)           one kc x NR sliver of packed B: stays in L1
 *           for ir (MR rows)            micro-kernel: MR x NR of C in f32x4 registers
 *
 * Packing reads A and B through (row stride, column stride) in elements, so transposed
 * operands are just swapped strides and cost nothing extra. Packed panels are zero-padded to
 * MR / NR, so the micro-kernel never branches on edges; edge tiles go through a small tile buffer.
 * The epilogue (C accumulation, per-row or per-column bias, relu / relu6) runs on the registers
 * of the last k block, so a fused conv + bias + relu6 costs no extra pass over the output. With
 * GEMM_SCALE each k block's product is scaled by alpha before it is added to C: C = C + alpha A B
 * is an SGD step accumulated straight into the weight (matmul_sgd_update).
 * All pointers are byte addresses in the module's linear memory; strides are in elements.
 */
import { F32, Fn, I32, Local, ModuleBuilder, V128, type Ex } from './wasm-builder.js';

/** Epilogue flags of `gemm` (bit set). */
export const GEMM_ACCUMULATE = 1;
export const GEMM_ROW_BIAS = 2;
export const GEMM_COL_BIAS = 4;
export const GEMM_RELU = 8;
export const GEMM_RELU6 = 16;
/** Scale the product by alpha before it is added (C = C + alpha A B with GEMM_ACCUMULATE: the SGD step). */
export const GEMM_SCALE = 32;
/**
 * Internal to gemm_tiles: the workspace already holds A packed (whole: m <= MC, k <= KC) or B
 * packed (whole: n <= NC, k <= KC), so this call skips packing it. A thread of a split GEMM packs
 * the shared operand once and reuses it for every chunk it claims, instead of once per chunk.
 */
const GEMM_PACKED_A = 64;
const GEMM_PACKED_B = 128;

/** Register block: MR rows x NR columns of C live in MR * NR / 4 f32x4 accumulators. */
export interface MicroShape {
  mr: number;
  nr: number;
  /** k steps per loop iteration of the micro-kernel (default 1). */
  unroll?: number;
  /** Multiply-add with relaxed SIMD's f32x4.relaxed_madd (one instruction where the CPU has FMA). */
  madd?: boolean;
}

/** Bytes of packing workspace `gemm` needs for blocks (mc, kc, nc). */
export function gemmWorkspaceBytes(s: MicroShape, mc: number, kc: number, nc: number): number {
  return ((mc + s.mr) * kc + (nc + s.nr) * kc + s.mr * s.nr) * 4 + 64;
}

/** C tile += packed A sliver (kc x MR) * packed B sliver (kc x NR), then the epilogue. */
function microKernel(mod: ModuleBuilder, s: MicroShape): Fn {
  const f = mod.fn(null, [I32, I32, I32, I32, I32, I32, I32, I32]);
  const [kc, ap, bp, c, ldc, flags, bias, alpha] = f.params as [Local, Local, Local, Local, Local, Local, Local, Local];
  const nv = s.nr / 4;
  const acc = Array.from({ length: s.mr }, () => f.locals(nv, V128));
  const b = f.locals(nv, V128);
  const a = f.local(V128);
  const row = f.local(I32);
  // v128 locals start at zero, so the accumulators need no initialisation
  const step = (u: number) => {
    for (let v = 0; v < nv; v++) f.set(b[v]!, f.vload(bp, 4 * s.nr * u + 16 * v));
    for (let r = 0; r < s.mr; r++) {
      f.set(a, f.vsplatLoad(ap, 4 * s.mr * u + 4 * r));
      for (let v = 0; v < nv; v++) f.set(acc[r]![v]!, s.madd ? f.vmadd(a, b[v]!, acc[r]![v]!) : f.vadd(acc[r]![v]!, f.vmul(a, b[v]!)));
    }
  };
  const unroll = s.unroll ?? 1;
  const steps = f.local(I32);
  f.set(steps, unroll === 1 ? kc : f.div(kc, unroll));
  f.if(f.gt(steps, 0), () =>
    f.countdown(steps, () => {
      for (let u = 0; u < unroll; u++) step(u);
      f.inc(ap, 4 * s.mr * unroll);
      f.inc(bp, 4 * s.nr * unroll);
    }),
  );
  if (unroll > 1) {
    f.set(steps, f.rem(kc, unroll));
    f.if(f.gt(steps, 0), () =>
      f.countdown(steps, () => {
        step(0);
        f.inc(ap, 4 * s.mr);
        f.inc(bp, 4 * s.nr);
      }),
    );
  }
  const each = (fn: (r: number, v: number, x: Local) => Ex) => {
    for (let r = 0; r < s.mr; r++) for (let v = 0; v < nv; v++) f.set(acc[r]![v]!, fn(r, v, acc[r]![v]!));
  };
  const rows = (body: (r: number) => void) => {
    f.set(row, c);
    for (let r = 0; r < s.mr; r++) {
      body(r);
      if (r + 1 < s.mr) f.inc(row, ldc);
    }
  };
  f.if(f.and(flags, GEMM_SCALE), () => {
    f.set(a, f.vsplat(f.fromBits(alpha)));
    each((_r, _v, x) => f.vmul(x, a));
  });
  f.if(f.and(flags, GEMM_ACCUMULATE), () =>
    rows((r) => {
      for (let v = 0; v < nv; v++) f.set(acc[r]![v]!, f.vadd(acc[r]![v]!, f.vload(row, 16 * v)));
    }),
  );
  f.if(f.and(flags, GEMM_ROW_BIAS), () =>
    each((r, _v, x) => f.vadd(x, f.vsplatLoad(bias, 4 * r))),
  );
  f.if(f.and(flags, GEMM_COL_BIAS), () => {
    for (let v = 0; v < nv; v++) f.set(b[v]!, f.vload(bias, 16 * v));
    each((_r, v, x) => f.vadd(x, b[v]!));
  });
  f.if(f.and(flags, GEMM_RELU | GEMM_RELU6), () => each((_r, _v, x) => f.vmax(x, f.vzero())));
  f.if(f.and(flags, GEMM_RELU6), () => {
    f.set(a, f.vsplat(f.f32(6)));
    each((_r, _v, x) => f.vmin(x, a));
  });
  rows((r) => {
    for (let v = 0; v < nv; v++) f.vstore(row, acc[r]![v]!, 16 * v);
  });
  return f;
}

/**
 * Packs `streams` (4g byte pointers, each contiguous along p) for p in [0, kc): step p gets the
 * streams' p-th floats side by side at dst + p * 4 * streams.length. Four steps at a time go
 * through 4x4 register transposes (eight shuffles) instead of sixteen scalar loads and stores.
 */
function packStreams(f: Fn, streams: readonly Local[], dst: Local, kc: Local, p: Local): void {
  const step = 4 * streams.length;
  const v = f.locals(4, V128);
  const t = f.locals(4, V128);
  f.for(p, 0, f.sub(kc, 3), 4, () => {
    for (let g = 0; g < streams.length / 4; g++) {
      for (let r = 0; r < 4; r++) f.set(v[r]!, f.vload(streams[4 * g + r]!));
      f.set(t[0]!, f.vshuffle(v[0]!, v[1]!, [0, 4, 1, 5]));
      f.set(t[1]!, f.vshuffle(v[0]!, v[1]!, [2, 6, 3, 7]));
      f.set(t[2]!, f.vshuffle(v[2]!, v[3]!, [0, 4, 1, 5]));
      f.set(t[3]!, f.vshuffle(v[2]!, v[3]!, [2, 6, 3, 7]));
      f.vstore(dst, f.vshuffle(t[0]!, t[2]!, [0, 1, 4, 5]), 16 * g);
      f.vstore(dst, f.vshuffle(t[0]!, t[2]!, [2, 3, 6, 7]), step + 16 * g);
      f.vstore(dst, f.vshuffle(t[1]!, t[3]!, [0, 1, 4, 5]), 2 * step + 16 * g);
      f.vstore(dst, f.vshuffle(t[1]!, t[3]!, [2, 3, 6, 7]), 3 * step + 16 * g);
    }
    for (const st of streams) f.inc(st, 16);
    f.inc(dst, 4 * step);
  });
  f.for(p, p, kc, 1, () => {
    streams.forEach((st, i) => {
      f.fstore(dst, f.fload(st), 4 * i);
      f.inc(st, 4);
    });
    f.inc(dst, step);
  });
}

/**
 * Packs a kc x nc block of B (element (p, j) at b + 4*(p*rs + j*cs)) into NR-wide slivers,
 * each kc rows of NR contiguous floats; the last sliver is zero-padded.
 */
function packB(mod: ModuleBuilder, s: MicroShape): Fn {
  const f = mod.fn(null, [I32, I32, I32, I32, I32, I32]);
  const [bp, b, kc, nc, rs, cs] = f.params as [Local, Local, Local, Local, Local, Local];
  const [j0, nr, p, src, j, rsB, csB] = f.locals(7, I32);
  const col = f.locals(s.nr, I32);
  f.set(rsB, f.shl(rs, 2));
  f.set(csB, f.shl(cs, 2));
  f.for(j0, 0, nc, s.nr, () => {
    f.set(nr, f.min(s.nr, f.sub(nc, j0)));
    f.set(src, f.add(b, f.mul(j0, csB)));
    f.if(
      f.and(f.eq(nr, s.nr), f.eq(cs, 1)),
      () =>
        f.for(p, 0, kc, 1, () => {
          for (let v = 0; v < s.nr / 4; v++) f.vstore(bp, f.vload(src, 16 * v), 16 * v);
          f.inc(bp, 4 * s.nr);
          f.inc(src, rsB);
        }),
      () =>
        f.if(
          f.eq(nr, s.nr),
          () => {
            // transposed B: NR column streams, each read along p
            for (let jj = 0; jj < s.nr; jj++) f.set(col[jj]!, f.add(src, f.mul(jj, csB)));
            const gather = () =>
              f.for(p, 0, kc, 1, () => {
                for (let jj = 0; jj < s.nr; jj++) {
                  f.fstore(bp, f.fload(col[jj]!), 4 * jj);
                  f.inc(col[jj]!, rsB);
                }
                f.inc(bp, 4 * s.nr);
              });
            if (s.nr % 4 === 0) f.if(f.eq(rs, 1), () => packStreams(f, col, bp, kc, p), gather);
            else gather();
          },
          () => {
            f.memfill(bp, 0, f.mul(kc, 4 * s.nr));
            f.for(p, 0, kc, 1, () => {
              f.for(j, 0, nr, 1, () => f.fstore(f.add(bp, f.shl(j, 2)), f.fload(f.add(src, f.mul(j, csB)))));
              f.inc(bp, 4 * s.nr);
              f.inc(src, rsB);
            });
          },
        ),
    );
  });
  return f;
}

/** Packs an mc x kc block of A into MR-tall slivers, each kc columns of MR contiguous floats. */
function packA(mod: ModuleBuilder, s: MicroShape): Fn {
  const f = mod.fn(null, [I32, I32, I32, I32, I32, I32]);
  const [ap, a, mc, kc, rs, cs] = f.params as [Local, Local, Local, Local, Local, Local];
  const [i0, mr, p, src, r, rsB, csB] = f.locals(7, I32);
  const rowPtr = f.locals(s.mr, I32);
  f.set(rsB, f.shl(rs, 2));
  f.set(csB, f.shl(cs, 2));
  f.for(i0, 0, mc, s.mr, () => {
    f.set(mr, f.min(s.mr, f.sub(mc, i0)));
    f.set(src, f.add(a, f.mul(i0, rsB)));
    const fullRows = () => {
      // row-major A: MR row streams, each read along p
      for (let rr = 0; rr < s.mr; rr++) f.set(rowPtr[rr]!, f.add(src, f.mul(rr, rsB)));
      const gather = () =>
        f.for(p, 0, kc, 1, () => {
          for (let rr = 0; rr < s.mr; rr++) {
            f.fstore(ap, f.fload(rowPtr[rr]!), 4 * rr);
            f.inc(rowPtr[rr]!, csB);
          }
          f.inc(ap, 4 * s.mr);
        });
      if (s.mr % 4 === 0) f.if(f.eq(cs, 1), () => packStreams(f, rowPtr, ap, kc, p), gather);
      else gather();
    };
    const edge = () => {
      f.memfill(ap, 0, f.mul(kc, 4 * s.mr));
      f.for(p, 0, kc, 1, () => {
        f.for(r, 0, mr, 1, () => f.fstore(f.add(ap, f.shl(r, 2)), f.fload(f.add(src, f.mul(r, rsB)))));
        f.inc(ap, 4 * s.mr);
        f.inc(src, csB);
      });
    };
    const contiguous = () =>
      f.for(p, 0, kc, 1, () => {
        for (let v = 0; v < s.mr / 4; v++) f.vstore(ap, f.vload(src, 16 * v), 16 * v);
        f.inc(ap, 4 * s.mr);
        f.inc(src, csB);
      });
    if (s.mr % 4 === 0) f.if(f.and(f.eq(mr, s.mr), f.eq(rs, 1)), contiguous, () => f.if(f.eq(mr, s.mr), fullRows, edge));
    else f.if(f.eq(mr, s.mr), fullRows, edge);
  });
  return f;
}

/**
 * Adds the exported `gemm(m, n, k, a, rsA, csA, b, rsB, csB, c, ldc, flags, bias, ws, MC, KC, NC, alpha)`:
 * C[i, j] = epilogue(sum_p A[i, p] B[p, j]) for the m x n block at c (row stride ldc); alpha is
 * the f32's bits (read with GEMM_SCALE).
 * `ws` must hold gemmWorkspaceBytes(s, MC, KC, NC); `bias` (row or column bias) must be readable
 * 64 bytes past its end (edge tiles read whole registers). Requires k >= 1.
 */
export function addGemm(mod: ModuleBuilder, s: MicroShape, shared = false): void {
  const micro = microKernel(mod, s);
  const pb = packB(mod, s);
  const pa = packA(mod, s);
  const f = mod.fn('gemm', Array<typeof I32>(18).fill(I32));
  const [m, n, k, a, rsA, csA, b, rsB, csB, c, ldc, flags, bias, ws, MC, KC, NC, alpha] = f.params as Local[] as [
    Local, Local, Local, Local, Local, Local, Local, Local, Local, Local, Local, Local, Local, Local, Local, Local, Local, Local,
  ];
  const [jc, nc, pc, kc, ic, mc, jr, nr, ir, mr, mflags, apBase, bpBase, tile, cp, biasP, r, packed] = f.locals(18, I32);
  f.set(packed, f.and(flags, GEMM_PACKED_A | GEMM_PACKED_B));
  f.set(flags, f.and(flags, ~(GEMM_PACKED_A | GEMM_PACKED_B)));
  f.set(apBase, ws);
  f.set(bpBase, f.add(ws, f.shl(f.mul(f.add(MC, s.mr), KC), 2)));
  f.set(tile, f.add(bpBase, f.shl(f.mul(f.add(NC, s.nr), KC), 2)));
  f.for(jc, 0, n, NC, () => {
    f.set(nc, f.min(NC, f.sub(n, jc)));
    f.for(pc, 0, k, KC, () => {
      f.set(kc, f.min(KC, f.sub(k, pc)));
      f.if(f.eqz(f.and(packed, GEMM_PACKED_B)), () => f.call(pb, bpBase, f.add(b, f.shl(f.add(f.mul(pc, rsB), f.mul(jc, csB)), 2)), kc, nc, rsB, csB));
      // accumulate into C after the first k block; scale every block's product; run the rest of
      // the epilogue only on the last block
      f.set(
        mflags,
        f.or(
          f.or(f.select(f.and(flags, GEMM_ACCUMULATE), GEMM_ACCUMULATE, f.eqz(pc)), f.and(flags, GEMM_SCALE)),
          f.select(f.and(flags, ~(GEMM_ACCUMULATE | GEMM_SCALE)), 0, f.ge(f.add(pc, kc), k)),
        ),
      );
      f.for(ic, 0, m, MC, () => {
        f.set(mc, f.min(MC, f.sub(m, ic)));
        f.if(f.eqz(f.and(packed, GEMM_PACKED_A)), () => f.call(pa, apBase, f.add(a, f.shl(f.add(f.mul(ic, rsA), f.mul(pc, csA)), 2)), mc, kc, rsA, csA));
        f.for(jr, 0, nc, s.nr, () => {
          f.set(nr, f.min(s.nr, f.sub(nc, jr)));
          f.for(ir, 0, mc, s.mr, () => {
            f.set(mr, f.min(s.mr, f.sub(mc, ir)));
            f.set(cp, f.add(c, f.shl(f.add(f.mul(f.add(ic, ir), ldc), f.add(jc, jr)), 2)));
            f.set(biasP, f.add(bias, f.shl(f.select(f.add(ic, ir), f.add(jc, jr), f.and(flags, GEMM_ROW_BIAS)), 2)));
            const apP = f.add(apBase, f.shl(f.mul(ir, kc), 2));
            const bpP = f.add(bpBase, f.shl(f.mul(jr, kc), 2));
            f.if(
              f.and(f.eq(mr, s.mr), f.eq(nr, s.nr)),
              () => f.call(micro, kc, apP, bpP, cp, f.shl(ldc, 2), mflags, biasP, alpha),
              () => {
                // edge tile: run the full micro-kernel on a scratch tile, copy the valid part
                f.if(f.and(mflags, GEMM_ACCUMULATE), () =>
                  f.for(r, 0, mr, 1, () => f.memcopy(f.add(tile, f.mul(r, 4 * s.nr)), f.add(cp, f.shl(f.mul(r, ldc), 2)), f.shl(nr, 2))),
                );
                f.call(micro, kc, apP, bpP, tile, 4 * s.nr, mflags, biasP, alpha);
                f.for(r, 0, mr, 1, () => f.memcopy(f.add(cp, f.shl(f.mul(r, ldc), 2)), f.add(tile, f.mul(r, 4 * s.nr)), f.shl(nr, 2)));
              },
            );
          });
        });
      });
    });
  });
  if (shared) addGemmTiles(mod, f, pa, pb, s.mr);
}

/**
 * Adds `gemm_tiles(...gemm's 18 arguments, counter, chunk, byCols, count, strideA, strideB,
 * strideC, sum)` for shared memories: every thread of a fork-join calls it with the same
 * arguments (its own workspace) and claims chunks of `chunk` columns (byCols) or rows of C with
 * an atomic add on the i32 at `counter` (zeroed by the caller) until none is left. Threads that
 * start late (a worker woken from sleep) or run slow (a little core, a descheduled vCPU) take
 * fewer chunks, so no thread waits on a fixed half.
 *
 * `count` > 1 is a strided batch of such products (the t-th reads a + t strideA and
 * b + t strideB, strides in elements) in the same fork-join. With sum = 0 the t-th writes its
 * own C at c + t strideC, and every matrix's chunks are claimed from the one counter; with
 * sum = 1 they add up into one C (a conv's weight gradient over the images: C = sum_t A_t B_t):
 * a chunk is claimed once and its thread runs the whole batch on it, accumulating after the
 * first product (flags may then only hold GEMM_ACCUMULATE and GEMM_SCALE).
 */
function addGemmTiles(mod: ModuleBuilder, gemm: Fn, pa: Fn, pb: Fn, mr: number): void {
  const f = mod.fn('gemm_tiles', Array<typeof I32>(26).fill(I32));
  const [m, n, k, a0, rsA, csA, b0, rsB, csB, c0, ldc, flags, bias, ws, MC, KC, NC, alpha, counter, chunk, byCols, count, strideA, strideB, strideC, sum] =
    f.params as Local[] as [
      Local, Local, Local, Local, Local, Local, Local, Local, Local, Local, Local, Local, Local,
      Local, Local, Local, Local, Local, Local, Local, Local, Local, Local, Local, Local, Local,
    ];
  const [total, per, claim, mat, start, len, go, a, b, c, i, t, fl, reuse, packedMat] = f.locals(15, I32);
  f.set(total, f.select(n, m, byCols));
  // the operand every chunk of a matrix shares (A when splitting columns, B when splitting rows)
  // is packed once per thread and matrix when it is one block; a summed batch's chunks change
  // matrices at every product, so they pack as they go
  f.set(
    reuse,
    f.and(
      f.and(f.eqz(sum), f.le(k, KC)),
      f.select(f.le(m, MC), f.le(n, NC), byCols),
    ),
  );
  f.set(packedMat, -1);
  // chunks per matrix
  f.set(per, f.div(f.sub(f.add(total, chunk), 1), chunk));
  f.set(go, 1);
  /** The chunk [start, start + len) of product `mat` into C at c. */
  const run = (fl: Ex) =>
    f.if(
      byCols,
      () =>
        f.call(gemm, m, len, k, a, rsA, csA, f.add(b, f.shl(f.mul(start, csB), 2)), rsB, csB, f.add(c, f.shl(start, 2)), ldc, fl,
          f.select(f.add(bias, f.shl(start, 2)), bias, f.and(flags, GEMM_COL_BIAS)), ws, MC, KC, NC, alpha),
      () =>
        f.call(gemm, len, n, k, f.add(a, f.shl(f.mul(start, rsA), 2)), rsA, csA, b, rsB, csB, f.add(c, f.shl(f.mul(start, ldc), 2)), ldc, fl,
          f.select(f.add(bias, f.shl(start, 2)), bias, f.and(flags, GEMM_ROW_BIAS)), ws, MC, KC, NC, alpha),
    );
  const operands = (at: Local) => {
    f.set(a, f.add(a0, f.shl(f.mul(at, strideA), 2)));
    f.set(b, f.add(b0, f.shl(f.mul(at, strideB), 2)));
  };
  const body = () => {
    f.set(claim, f.atomicAdd(counter, 1));
    f.if(f.ge(claim, f.select(per, f.mul(per, count), sum)), () => f.set(go, 0), () =>
      f.if(
        sum,
        () => {
          f.set(start, f.mul(claim, chunk));
          f.set(len, f.min(chunk, f.sub(total, start)));
          f.set(c, c0);
          f.set(fl, flags);
          f.for(t, 0, count, 1, () => {
            operands(t);
            run(fl);
            f.set(fl, f.or(flags, GEMM_ACCUMULATE));
          });
        },
        () => {
          f.set(mat, f.div(claim, per));
          f.set(start, f.mul(f.sub(claim, f.mul(mat, per)), chunk));
          f.set(len, f.min(chunk, f.sub(total, start)));
          operands(mat);
          f.set(c, f.add(c0, f.shl(f.mul(mat, strideC), 2)));
          f.if(
            reuse,
            () => {
              // gemm's workspace layout: packed A at ws, packed B after (MC + MR) * KC floats
              f.if(f.ne(packedMat, mat), () => {
                f.if(
                  byCols,
                  () => f.call(pa, ws, a, m, k, rsA, csA),
                  () => f.call(pb, f.add(ws, f.shl(f.mul(f.add(MC, mr), KC), 2)), b, k, n, rsB, csB),
                );
                f.set(packedMat, mat);
              });
              run(f.or(flags, f.select(GEMM_PACKED_A, GEMM_PACKED_B, byCols)));
            },
            () => run(flags),
          );
        },
      ),
    );
  };
  // loops while `go` is 1 (i stays 0)
  f.for(i, 0, go, 0, body);
}

/**
 * Adds `peak(iters, scale) -> f32`: `chains` independent f32x4 chains of x = x * scale and
 * s = s + x per iteration (or, with `madd`, s = relaxed_madd(s, scale, x)), so the loop is bound
 * by multiply and add throughput, not latency, and nothing is loop-invariant. Its flops / second
 * is the machine's f32x4 mul+add (or multiply-add) peak.
 */
export function addPeak(mod: ModuleBuilder, chains: number, unroll = 1, madd = false): void {
  const f = mod.fn('peak', [I32, F32], [F32]);
  const [iters, scale] = f.params as [Local, Local];
  const x = f.locals(chains, V128);
  const sum = f.locals(chains, V128);
  const sc = f.local(V128);
  f.set(sc, f.vsplat(scale));
  for (let i = 0; i < chains; i++) f.set(x[i]!, f.vsplat(f.f32(1 + i / 64)));
  f.countdown(iters, () => {
    for (let u = 0; u < unroll; u++) {
      if (madd) {
        // s = s * scale + x: one relaxed multiply-add (2 flops per lane) per chain
        for (let i = 0; i < chains; i++) f.set(sum[i]!, f.vmadd(sum[i]!, sc, x[i]!));
        continue;
      }
      for (let i = 0; i < chains; i++) f.set(x[i]!, f.vmul(x[i]!, sc));
      for (let i = 0; i < chains; i++) f.set(sum[i]!, f.vadd(sum[i]!, x[i]!));
    }
  });
  for (let i = 1; i < chains; i++) f.set(sum[0]!, f.vadd(sum[0]!, sum[i]!));
  f.emit(f.vsum(sum[0]!));
}
