/**
 * The compute primitives the fast conv / matmul kernels are written against. Two engines
 * implement them: WASM SIMD (optionally threaded; wasm-engine.ts) and plain JS (js-engine.ts,
 * used where WebAssembly SIMD is missing). Operands live in one float32 heap owned by the
 * engine; kernels copy tensors in, run primitives on heap offsets, and copy results out.
 * Offsets and strides are in float elements.
 */

/** C = act(C? + A B + bias?) for the m x n block at `c` (row stride ldc). */
export interface GemmCall {
  m: number;
  n: number;
  k: number;
  a: number;
  rsA: number;
  csA: number;
  b: number;
  rsB: number;
  csB: number;
  c: number;
  ldc: number;
  /** GEMM_* bits of wasm-gemm.ts: accumulate, row / column bias, relu, relu6. */
  flags: number;
  /** Offset of the bias vector (m floats for a row bias, n for a column bias). */
  bias: number;
}

/** Input and output plane sizes, kernel, strides, dilations and leading pads of a sliding window. */
export interface WindowGeometry {
  h: number;
  w: number;
  oh: number;
  ow: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  padTop: number;
  padLeft: number;
}

/** One group of one image: x holds `channels` planes h x w, col is (channels*kh*kw) x (oh*ow). */
export interface Im2colCall extends WindowGeometry {
  x: number;
  col: number;
  channels: number;
}

/**
 * A depthwise conv (groups = channels, one filter per channel) over the whole batch.
 * forward: x, weights, bias -> y; grad_input: dy, weights -> y (= dx); grad_weight: x, dy -> y (= dw).
 */
export interface DepthwiseCall extends WindowGeometry {
  x: number;
  weights: number;
  bias: number;
  y: number;
  dy: number;
  batch: number;
  channels: number;
  flags: number;
}

export type DepthwiseKind = 'forward' | 'grad_input' | 'grad_weight';

export interface Engine {
  /** 'wasm-simd', 'wasm-simd-threads' or 'js'. */
  readonly name: string;
  /** Threads a primitive may use (1 without a worker pool). */
  readonly threads: number;
  /** The heap; re-read after `alloc` (growing may replace the view). */
  heap(): Float32Array;
  /** Forgets every allocation; kernels call it first. */
  reset(): void;
  /** Offset of n fresh floats, 16-float aligned, readable 16 floats past the end; contents unspecified. */
  alloc(n: number): number;
  gemm(call: GemmCall): void;
  im2col(call: Im2colCall): void;
  /** x += col2im(col): x must be zeroed (or hold partial sums) beforehand. */
  col2im(call: Im2colCall): void;
  depthwise(kind: DepthwiseKind, call: DepthwiseCall): void;
}

/** The engine's heap cannot grow to the size a kernel call needs; kernels then use the reference kernel. */
export class HeapExhausted extends Error {
  constructor(bytes: number, cause?: unknown) {
    super(`fast-kernel heap cannot grow to ${bytes} bytes`, { cause });
  }
}

/** Copies `data` into fresh heap memory and returns its offset. */
export function put(e: Engine, data: ArrayLike<number>): number {
  const p = e.alloc(data.length);
  e.heap().set(data, p);
  return p;
}

/** Zeroed heap memory of n floats. */
export function zeros(e: Engine, n: number): number {
  const p = e.alloc(n);
  e.heap().fill(0, p, p + n);
  return p;
}

/** Copies n floats at offset p out into `out`. */
export function get(e: Engine, p: number, out: Float32Array): void {
  out.set(e.heap().subarray(p, p + out.length));
}

/** Grows a heap by doubling; the arena is a bump pointer reset per kernel call. */
export class Arena {
  private top: number;
  constructor(private readonly base: number) {
    this.top = base;
  }
  reset(): void {
    this.top = this.base;
  }
  /** Returns [offset, end] in floats of n floats aligned to 16 floats with 16 floats of slack. */
  take(n: number): [number, number] {
    const p = (this.top + 15) & ~15;
    this.top = p + n + 16;
    return [p, this.top];
  }
}
