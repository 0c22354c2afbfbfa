/**
 * Engine-level GEMM conformance: every engine against a float64 triple loop, over shapes that
 * straddle the register tile (4 x 8) and the cache blocks (mc 128, kc 256, nc 1024), every
 * transpose combination (as strides), sub-matrix strides, and each epilogue flag.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GEMM_ACCUMULATE, GEMM_COL_BIAS, GEMM_RELU, GEMM_RELU6, GEMM_ROW_BIAS, put, wasmSimdSupported, wasmThreadsSupported, type GemmCall } from '../../src/fast/index.js';
import { BLOCKS } from '../../src/fast/wasm-engine.js';
import { disposeAll, engines, expectClose, rand, type EngineCase } from './helpers.js';

/** The expected C of a GemmCall on plain arrays (float64 accumulation). */
function naive(g: GemmCall, A: ArrayLike<number>, B: ArrayLike<number>, C0: ArrayLike<number>, bias: ArrayLike<number>): Float64Array {
  const out = new Float64Array(g.m * g.n);
  for (let i = 0; i < g.m; i++)
    for (let j = 0; j < g.n; j++) {
      let s = g.flags & GEMM_ACCUMULATE ? C0[i * g.ldc + j]! : 0;
      for (let p = 0; p < g.k; p++) s += A[i * g.rsA + p * g.csA]! * B[p * g.rsB + j * g.csB]!;
      if (g.flags & GEMM_ROW_BIAS) s += bias[i]!;
      if (g.flags & GEMM_COL_BIAS) s += bias[j]!;
      if (g.flags & (GEMM_RELU | GEMM_RELU6)) s = Math.max(0, s);
      if (g.flags & GEMM_RELU6) s = Math.min(6, s);
      out[i * g.n + j] = s;
    }
  return out;
}

interface Case {
  m: number;
  n: number;
  k: number;
  transA?: boolean;
  transB?: boolean;
  /** Extra columns in the leading dimension of A, B and C (sub-matrix views). */
  pad?: number;
  flags?: number;
}

const CASES: Case[] = [
  { m: 1, n: 1, k: 1 },
  { m: 4, n: 8, k: 5 },
  { m: 3, n: 5, k: 7 },
  { m: 17, n: 31, k: 13, transA: true },
  { m: 9, n: 23, k: 29, transB: true },
  { m: 33, n: 10, k: 3, transA: true, transB: true },
  { m: 5, n: 9, k: 4, pad: 3 },
  { m: 12, n: 20, k: 9, pad: 5, transA: true, transB: true },
  { m: 7, n: 11, k: 6, flags: GEMM_ROW_BIAS },
  { m: 7, n: 11, k: 6, flags: GEMM_COL_BIAS | GEMM_RELU },
  { m: 13, n: 18, k: 40, flags: GEMM_ROW_BIAS | GEMM_RELU | GEMM_RELU6 },
  { m: 6, n: 10, k: 8, flags: GEMM_ACCUMULATE },
  { m: 21, n: 19, k: 300, flags: GEMM_ACCUMULATE | GEMM_COL_BIAS, transB: true },
  // several k blocks (epilogue only after the last), m blocks, and n blocks
  { m: 2 * BLOCKS.mc + 3, n: 70, k: 2 * BLOCKS.kc + 5, flags: GEMM_ROW_BIAS | GEMM_RELU6 },
  { m: 9, n: BLOCKS.nc + 37, k: BLOCKS.kc + 1, transA: true, flags: GEMM_COL_BIAS },
  { m: 130, n: 140, k: 260, transA: true, transB: true, flags: GEMM_ACCUMULATE | GEMM_RELU },
];

function label(c: Case): string {
  const t = `${c.transA ? 'T' : 'N'}${c.transB ? 'T' : 'N'}`;
  return `${c.m}x${c.n}x${c.k} ${t} pad=${c.pad ?? 0} flags=${c.flags ?? 0}`;
}

describe('fast GEMM primitive', () => {
  let cases: EngineCase[] = [];
  beforeAll(async () => {
    cases = await engines();
  });
  afterAll(() => disposeAll(cases));

  it('runs on the pure-JS engine and, where supported, WASM SIMD with and without threads', () => {
    const names = cases.map((c) => c.name);
    expect(names).toContain('js');
    if (wasmSimdSupported()) expect(names).toContain('wasm-simd');
    if (wasmThreadsSupported()) expect(names).toContain('wasm-simd-threads');
    console.log(`fast GEMM engines under test: ${names.join(', ')}`);
  });

  for (const c of CASES)
    it(label(c), () => {
      const pad = c.pad ?? 0;
      // stored shapes: A is m x k (or k x m), B is k x n (or n x k), rows `pad` wider
      const [aRows, aCols] = c.transA ? [c.k, c.m] : [c.m, c.k];
      const [bRows, bCols] = c.transB ? [c.n, c.k] : [c.k, c.n];
      const A = rand([aRows, aCols + pad], 1).data;
      const B = rand([bRows, bCols + pad], 2).data;
      const C0 = rand([c.m, c.n + pad], 3).data;
      const bias = rand([Math.max(c.m, c.n)], 4).data;
      const ld = { a: aCols + pad, b: bCols + pad };
      const shape = {
        m: c.m, n: c.n, k: c.k,
        rsA: c.transA ? 1 : ld.a, csA: c.transA ? ld.a : 1,
        rsB: c.transB ? 1 : ld.b, csB: c.transB ? ld.b : 1,
        ldc: c.n + pad, flags: c.flags ?? 0,
      };
      const want = naive({ ...shape, a: 0, b: 0, c: 0, bias: 0 }, A, B, C0, bias);
      for (const { name, engine: e } of cases) {
        e.reset();
        const g: GemmCall = { ...shape, a: put(e, A), b: put(e, B), c: put(e, C0), bias: put(e, bias) };
        e.gemm(g);
        const h = e.heap();
        const got = new Float64Array(c.m * c.n);
        for (let i = 0; i < c.m; i++) for (let j = 0; j < c.n; j++) got[i * c.n + j] = h[g.c + i * g.ldc + j]!;
        expectClose(got, want, c.k + 2, `${name} ${label(c)}`);
        // the padding columns of C are never written
        for (let i = 0; i < c.m; i++) for (let j = c.n; j < c.n + pad; j++) expect(h[g.c + i * g.ldc + j]).toBe(C0[i * g.ldc + j]);
      }
    });

  it('k = 0 leaves only the epilogue', () => {
    for (const { name, engine: e } of cases) {
      e.reset();
      const bias = put(e, [1, -2, 3]);
      const c = put(e, [5, 5, 5, 5, 5, 5]);
      e.gemm({ m: 2, n: 3, k: 0, a: 0, rsA: 0, csA: 1, b: 0, rsB: 3, csB: 1, c, ldc: 3, flags: GEMM_COL_BIAS | GEMM_RELU, bias });
      expect(Array.from(e.heap().subarray(c, c + 6)), name).toEqual([1, 0, 3, 1, 0, 3]);
    }
  });

  /** Strided batches: separate outputs (with an epilogue) and products summed into one C, shapes below and above the tiles. */
  const BATCHES: { count: number; m: number; n: number; k: number; transB?: boolean; flags: number; sum?: boolean; gap?: number }[] = [
    { count: 3, m: 5, n: 9, k: 4, flags: GEMM_ROW_BIAS | GEMM_RELU },
    { count: 8, m: 16, n: 40, k: 24, transB: true, flags: GEMM_COL_BIAS },
    { count: 2, m: 70, n: 130, k: 33, flags: 0, gap: 7 },
    { count: 4, m: 6, n: 10, k: 12, flags: 0, sum: true },
    { count: 8, m: 24, n: 36, k: 50, transB: true, flags: GEMM_ACCUMULATE, sum: true },
    { count: 1, m: 9, n: 17, k: 5, flags: 0, sum: true },
  ];
  for (const bc of BATCHES)
    it(`a strided batch of ${bc.count} ${bc.m}x${bc.n}x${bc.k}${bc.sum ? ' summed into one C' : ''} flags=${bc.flags}`, () => {
      const gap = bc.gap ?? 0;
      const sizeA = bc.m * bc.k + gap;
      const sizeB = bc.k * bc.n + gap;
      const sizeC = bc.m * bc.n + gap;
      const A = rand([bc.count * sizeA], 11).data;
      const B = rand([bc.count * sizeB], 12).data;
      const C0 = rand([bc.count * sizeC], 13).data;
      const bias = rand([Math.max(bc.m, bc.n)], 14).data;
      const shape = { m: bc.m, n: bc.n, k: bc.k, rsA: bc.k, csA: 1, rsB: bc.transB ? 1 : bc.n, csB: bc.transB ? bc.k : 1, ldc: bc.n, flags: bc.flags };
      // expected: the products one by one (summed ones accumulate into the first C)
      const want = Float64Array.from(C0);
      for (let t = 0; t < bc.count; t++) {
        const at = bc.sum ? 0 : t * sizeC;
        const flags = bc.sum && t > 0 ? bc.flags | GEMM_ACCUMULATE : bc.flags;
        const one = naive({ ...shape, flags, a: 0, b: 0, c: 0, bias: 0 }, A.subarray(t * sizeA), B.subarray(t * sizeB), want.subarray(at), bias);
        want.set(one, at);
      }
      for (const { name, engine: e } of cases) {
        e.reset();
        const g: GemmCall = {
          ...shape, a: put(e, A), b: put(e, B), c: put(e, C0), bias: put(e, bias),
          batch: { count: bc.count, strideA: sizeA, strideB: sizeB, strideC: bc.sum ? 0 : sizeC, sum: bc.sum },
        };
        e.gemm(g);
        const got = Float64Array.from(e.heap().subarray(g.c, g.c + bc.count * sizeC));
        expectClose(got, want, bc.count * bc.k + 2, `${name} batch`);
      }
    });

  it('a summed batch rejects epilogue flags other than accumulate and scale', () => {
    for (const { name, engine: e } of cases) {
      e.reset();
      const a = put(e, [1, 2]);
      expect(() => e.gemm({ m: 1, n: 1, k: 1, a, rsA: 1, csA: 1, b: a, rsB: 1, csB: 1, c: e.alloc(1), ldc: 1, flags: GEMM_RELU, bias: 0, batch: { count: 2, strideA: 1, strideB: 1, strideC: 0, sum: true } }), name).toThrow(/summed batch/);
    }
  });

  it('relu keeps NaN (PyTorch semantics) and relu6 clamps to [0, 6]', () => {
    for (const { name, engine: e } of cases) {
      e.reset();
      const a = put(e, [1]);
      const b = put(e, [Number.NaN, -3, 2, 9]);
      const c = e.alloc(4);
      e.gemm({ m: 1, n: 4, k: 1, a, rsA: 1, csA: 1, b, rsB: 4, csB: 1, c, ldc: 4, flags: GEMM_RELU, bias: 0 });
      expect(Array.from(e.heap().subarray(c, c + 4)), name).toEqual([Number.NaN, 0, 2, 9]);
      e.gemm({ m: 1, n: 4, k: 1, a, rsA: 1, csA: 1, b, rsB: 4, csB: 1, c, ldc: 4, flags: GEMM_RELU | GEMM_RELU6, bias: 0 });
      expect(Array.from(e.heap().subarray(c, c + 4)).slice(1), name).toEqual([0, 2, 6]);
    }
  });

  it('a trap in the worker pool surfaces as an error and the pool keeps working', () => {
    const threaded = cases.find((c) => c.name === 'wasm-simd-threads');
    if (!threaded) return expect(wasmThreadsSupported() && wasmSimdSupported()).toBe(false); // no threaded engine here: nothing to check
    const e = threaded.engine;
    e.reset();
    const a = put(e, new Float32Array(64 * 4).fill(1));
    const b = put(e, new Float32Array(4 * 64).fill(2));
    const c = e.alloc(64 * 64);
    const call = { m: 64, n: 64, k: 4, a, rsA: 4, csA: 1, b, rsB: 64, csB: 1, c, ldc: 64, flags: 0, bias: 0 };
    // B far past the end of linear memory: every thread's packing traps
    expect(() => e.gemm({ ...call, b: 1 << 29 })).toThrow();
    e.gemm(call);
    expect(Array.from(e.heap().subarray(c, c + 64 * 64)).every((v) => v === 8)).toBe(true);
  });
});
