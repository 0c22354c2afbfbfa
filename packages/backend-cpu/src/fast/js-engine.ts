/**
 * Pure-JS engine: the same primitives as the WASM engine in plain loops over a Float32Array, for
 * runtimes without WebAssembly SIMD. Loop orders keep the innermost loop contiguous (i-p-j GEMM
 * over a packed B), which is what JS engines vectorise least badly; it is a fallback, not a
 * competitor of the SIMD path.
 */
import { Arena, checkGemmBatch, HeapExhausted, type DepthwiseCall, type DepthwiseKind, type Engine, type GemmCall, type Im2colCall } from './engine.js';
import { GEMM_ACCUMULATE, GEMM_COL_BIAS, GEMM_RELU, GEMM_RELU6, GEMM_ROW_BIAS, GEMM_SCALE } from './wasm-gemm.js';

export class JsEngine implements Engine {
  readonly name = 'js';
  readonly threads = 1;
  private mem: Float32Array = new Float32Array(1 << 16);
  private readonly arena = new Arena(0);
  private packed: Float32Array = new Float32Array(0);

  heap(): Float32Array {
    return this.mem;
  }
  reset(): void {
    this.arena.reset();
  }
  alloc(n: number): number {
    const [p, end] = this.arena.take(n);
    if (end > this.mem.length) {
      let grown: Float32Array;
      try {
        grown = new Float32Array(Math.max(end, 2 * this.mem.length));
      } catch (e) {
        throw new HeapExhausted(end * 4, e);
      }
      grown.set(this.mem);
      this.mem = grown;
    }
    return p;
  }

  gemm(g: GemmCall): void {
    if (g.batch) {
      const { count, strideA, strideB, strideC, sum } = g.batch;
      checkGemmBatch(g);
      for (let t = 0; t < count; t++)
        this.gemm({
          ...g,
          a: g.a + t * strideA,
          b: g.b + t * strideB,
          c: sum ? g.c : g.c + t * strideC,
          flags: sum && t > 0 ? g.flags | GEMM_ACCUMULATE : g.flags,
          batch: undefined,
        });
      return;
    }
    const h = this.mem;
    // B as a contiguous k x n matrix, so the inner loop is unit-stride
    let b = h;
    let bOff = g.b;
    let rsB = g.rsB;
    if (g.csB !== 1) {
      if (this.packed.length < g.k * g.n) this.packed = new Float32Array(g.k * g.n);
      b = this.packed;
      for (let p = 0; p < g.k; p++) for (let j = 0; j < g.n; j++) b[p * g.n + j] = h[g.b + p * g.rsB + j * g.csB]!;
      bOff = 0;
      rsB = g.n;
    }
    // GEMM_SCALE: alpha folded into A's elements (C + alpha A B)
    const alpha = g.flags & GEMM_SCALE ? (g.alpha ?? 1) : 1;
    const aAt = alpha === 1 ? (i: number, p: number) => h[g.a + i * g.rsA + p * g.csA]! : (i: number, p: number) => alpha * h[g.a + i * g.rsA + p * g.csA]!;
    for (let i = 0; i < g.m; i++) if (!(g.flags & GEMM_ACCUMULATE)) h.fill(0, g.c + i * g.ldc, g.c + i * g.ldc + g.n);
    // four rows of C per sweep of B: each B element loaded once feeds four multiply-adds
    let i = 0;
    for (; i + 4 <= g.m; i += 4) {
      const c0 = g.c + i * g.ldc;
      const c1 = c0 + g.ldc;
      const c2 = c1 + g.ldc;
      const c3 = c2 + g.ldc;
      for (let p = 0; p < g.k; p++) {
        const a0 = aAt(i, p);
        const a1 = aAt(i + 1, p);
        const a2 = aAt(i + 2, p);
        const a3 = aAt(i + 3, p);
        const row = bOff + p * rsB;
        for (let j = 0; j < g.n; j++) {
          const bv = b[row + j]!;
          h[c0 + j] += a0 * bv;
          h[c1 + j] += a1 * bv;
          h[c2 + j] += a2 * bv;
          h[c3 + j] += a3 * bv;
        }
      }
    }
    for (; i < g.m; i++) {
      const c = g.c + i * g.ldc;
      for (let p = 0; p < g.k; p++) {
        const aip = aAt(i, p);
        const row = bOff + p * rsB;
        for (let j = 0; j < g.n; j++) h[c + j] += aip * b[row + j]!;
      }
    }
    for (let i = 0; i < g.m; i++) {
      const c = g.c + i * g.ldc;
      if (g.flags & GEMM_ROW_BIAS) {
        const bi = h[g.bias + i]!;
        for (let j = 0; j < g.n; j++) h[c + j] += bi;
      }
      if (g.flags & GEMM_COL_BIAS) for (let j = 0; j < g.n; j++) h[c + j] += h[g.bias + j]!;
      if (g.flags & (GEMM_RELU | GEMM_RELU6)) {
        const hi = g.flags & GEMM_RELU6 ? 6 : Infinity;
        for (let j = 0; j < g.n; j++) {
          const v = h[c + j]!;
          h[c + j] = v < 0 ? 0 : v > hi ? hi : v; // NaN falls through both tests and stays NaN
        }
      }
    }
  }

  im2col(d: Im2colCall): void {
    this.walk(d, (colIdx, xIdx) => {
      this.mem[colIdx] = xIdx < 0 ? 0 : this.mem[xIdx]!;
    });
  }

  col2im(d: Im2colCall): void {
    this.walk(d, (colIdx, xIdx) => {
      if (xIdx >= 0) this.mem[xIdx] += this.mem[colIdx]!;
    });
  }

  /** Visits every (col element, x element or -1 for padding) pair of an im2col. */
  private walk(d: Im2colCall, visit: (colIdx: number, xIdx: number) => void): void {
    let col = d.col;
    for (let c = 0; c < d.channels; c++)
      for (let ki = 0; ki < d.kh; ki++)
        for (let kj = 0; kj < d.kw; kj++)
          for (let oh = 0; oh < d.oh; oh++) {
            const ih = oh * d.sh + ki * d.dh - d.padTop;
            for (let ow = 0; ow < d.ow; ow++, col++) {
              const iw = ow * d.sw + kj * d.dw - d.padLeft;
              visit(col, ih >= 0 && ih < d.h && iw >= 0 && iw < d.w ? (c * d.h + ih) * d.w + iw + d.x : -1);
            }
          }
  }

  depthwise(kind: DepthwiseKind, d: DepthwiseCall): void {
    const h = this.mem;
    const taps = d.kh * d.kw;
    const inPlane = d.h * d.w;
    const outPlane = d.oh * d.ow;
    if (kind === 'grad_weight') h.fill(0, d.y, d.y + d.channels * taps);
    if (kind === 'grad_input') h.fill(0, d.y, d.y + d.batch * d.channels * inPlane);
    for (let n = 0; n < d.batch; n++)
      for (let c = 0; c < d.channels; c++) {
        const plane = n * d.channels + c;
        for (let oh = 0; oh < d.oh; oh++)
          for (let ow = 0; ow < d.ow; ow++) {
            const o = plane * outPlane + oh * d.ow + ow;
            let acc = kind === 'forward' && d.flags & GEMM_ROW_BIAS ? h[d.bias + c]! : 0;
            for (let ki = 0; ki < d.kh; ki++) {
              const ih = oh * d.sh + ki * d.dh - d.padTop;
              if (ih < 0 || ih >= d.h) continue;
              for (let kj = 0; kj < d.kw; kj++) {
                const iw = ow * d.sw + kj * d.dw - d.padLeft;
                if (iw < 0 || iw >= d.w) continue;
                const xi = plane * inPlane + ih * d.w + iw;
                const wi = c * taps + ki * d.kw + kj;
                if (kind === 'forward') acc += h[d.weights + wi]! * h[d.x + xi]!;
                else if (kind === 'grad_input') h[d.y + xi] += h[d.weights + wi]! * h[d.dy + o]!;
                else h[d.y + wi] += h[d.dy + o]! * h[d.x + xi]!;
              }
            }
            if (kind === 'forward') {
              if (d.flags & (GEMM_RELU | GEMM_RELU6)) acc = acc < 0 ? 0 : d.flags & GEMM_RELU6 && acc > 6 ? 6 : acc;
              h[d.y + o] = acc;
            }
          }
      }
  }
}
