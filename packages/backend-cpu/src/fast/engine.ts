/**
 * The compute primitives the fast conv / matmul kernels are written against. Two engines
 * implement them: WASM SIMD (optionally threaded; wasm-engine.ts) and plain JS (js-engine.ts,
 * used where WebAssembly SIMD is missing). Operands live in one float32 heap owned by the
 * engine; kernels copy tensors in, run primitives on heap offsets, and copy results out.
 * Offsets and strides are in float elements.
 */
import type { CpuTensor } from '../tensor.js';
import { GEMM_ACCUMULATE, GEMM_SCALE } from './wasm-gemm.js';

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
  /** GEMM_* bits of wasm-gemm.ts: accumulate, row / column bias, relu, relu6, scale. */
  flags: number;
  /** Offset of the bias vector (m floats for a row bias, n for a column bias). */
  bias: number;
  /** With GEMM_SCALE: the product is scaled by alpha before it is added (default 1). */
  alpha?: number;
  /**
   * A strided batch: `count` products of this shape, the t-th of a + t strideA and b + t strideB
   * (elements), run as one parallel job (one fork-join for all of them): into c + t strideC, or
   * with `sum` all added into the one C (strideC unused; flags then only GEMM_ACCUMULATE / GEMM_SCALE).
   */
  batch?: { count: number; strideA: number; strideB: number; strideC: number; sum?: boolean };
}

/** Throws unless a summed batch's flags are only accumulate and scale (its epilogue would run once per product). */
export function checkGemmBatch(g: GemmCall): void {
  if (g.batch?.sum && g.flags & ~(GEMM_ACCUMULATE | GEMM_SCALE)) throw new Error('gemm: a summed batch takes only the accumulate and scale flags');
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

/** Activation fused into an output: relu clamps at 0, relu6 to [0, 6] (NaN passes through). */
export type FusedActivation = 'none' | 'relu' | 'relu6';

/** A tensor seen as [outer, channels, inner] (core's batchNormDims): channel c's elements are `outer` runs of `inner`. */
export interface ChannelLayout {
  outer: number;
  channels: number;
  inner: number;
}

/** y = act((x - mean) / sqrt(variance + epsilon) * scale + bias), per channel. */
export interface BatchNormCall extends ChannelLayout {
  x: number;
  y: number;
  scale: number;
  bias: number;
  /** Channel means and biased variances: read in eval mode, written (the batch statistics) in training mode. */
  mean: number;
  variance: number;
  epsilon: number;
  training: boolean;
  activation: FusedActivation;
}

/** dx, dscale, dbias of batch norm from x, scale, the statistics used forward, and dy. */
export interface BatchNormGradCall extends ChannelLayout {
  x: number;
  scale: number;
  mean: number;
  variance: number;
  dy: number;
  dx: number;
  dscale: number;
  dbias: number;
  epsilon: number;
  training: boolean;
}

/** Layer norm over the last d elements of each of `rows` rows (core's layerNormDims). */
export interface LayerNormCall {
  rows: number;
  d: number;
  x: number;
  y: number;
  scale: number;
  /** A float offset, or -1 for no bias. */
  bias: number;
  /** Per-row outputs: the mean and 1 / sqrt(biased variance + epsilon). */
  mean: number;
  invStd: number;
  epsilon: number;
}

/** dx, dscale, dbias of layer norm from x, scale, the forward's mean and invStd, and dy. */
export interface LayerNormGradCall {
  rows: number;
  d: number;
  x: number;
  scale: number;
  mean: number;
  invStd: number;
  dy: number;
  dx: number;
  dscale: number;
  dbias: number;
  /** Float offset of layerNormGradScratch(threads, d) floats (8-byte aligned) for per-thread column sums. */
  scratch: number;
}

/** Floats of scratch layerNormGrad needs: 2 d float64 per thread. */
export const layerNormGradScratch = (threads: number, d: number): number => threads * 4 * d;

/**
 * out[i] = cond[i] ? a[i] : b[i] for i < n; cond holds bytes starting at float offset cond. A
 * scalar a / b is its element 0 for every i; a block operand (`blocks`) is indexed i mod `period`.
 */
export interface SelectCall {
  cond: number;
  a: number;
  b: number;
  out: number;
  n: number;
  scalarA?: boolean;
  scalarB: boolean;
  /** Operands that hold one block of `period` elements, repeated along i (a broadcast mask). */
  blocks?: { cond?: boolean; a?: boolean; b?: boolean };
  period?: number;
}

/** y[i] = lo <(=) x[i] <(=) hi as a byte 1 / 0 for i < n (y: n bytes at float offset y); lo, hi float32 values. */
export interface InRangeCall {
  x: number;
  y: number;
  n: number;
  lo: number;
  hi: number;
  strictLo: boolean;
  strictHi: boolean;
}

/** One torch.optim.SGD step over n elements, updating param (and velocity with momentum) in place. */
export interface SgdCall {
  param: number;
  grad: number;
  velocity: number;
  n: number;
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  /** The first step: the momentum buffer starts as the gradient. */
  first: boolean;
}

/** The binary arithmetic of the streaming kernels. */
export type ArithmeticOp = 'add' | 'sub' | 'mul' | 'div';

/**
 * out = a op b (b op a with swap) over n elements where out and `a` are [outer, rep, inner] and
 * `b` is [outer, 1, inner]: b repeats `rep` times along the middle (inner = 1: one value per run
 * of rep elements; outer = 1 and inner = 1: a scalar).
 */
export interface BroadcastCall {
  op: ArithmeticOp;
  a: number;
  b: number;
  out: number;
  n: number;
  rep: number;
  inner: number;
  swap: boolean;
}

/** y[i0, i1, i2, i3] = x[i0 s0 + i1 s1 + i2 s2 + i3 s3] for y of shape dims, contiguous (strides in elements). */
export interface TransposeCall {
  x: number;
  y: number;
  dims: readonly [number, number, number, number];
  strides: readonly [number, number, number, number];
}

/** The unary float32 ops of VectorOps.unary. */
export type UnaryOp = 'exp' | 'erf' | 'sigmoid' | 'tanh' | 'neg' | 'abs' | 'sqrt' | 'rsqrt' | 'reciprocal';

/**
 * A strided copy of 32-bit elements over dims (rank 4): y[i0 ys0 + i1 ys1 + i2 ys2 + i3 ys3] =
 * x[i0 xs0 + i1 xs1 + i2 xs2 + i3 xs3] (strides in elements, any sign; a zero x stride repeats
 * an element). Slices, concat, split, broadcasts and plain copies are all this. Bits move
 * unchanged; x and y must not overlap.
 */
export interface CopyCall {
  x: number;
  y: number;
  dims: readonly [number, number, number, number];
  xStrides: readonly [number, number, number, number];
  yStrides: readonly [number, number, number, number];
}

/**
 * y[o, i] = (sum over j < k of x[o, j, i]) / divisor for x seen as [outer, k, inner] and y as
 * [outer, inner], summed in float64 and rounded to float32 once (x and y must not overlap).
 */
export interface ReduceSumCall {
  x: number;
  y: number;
  /** x is [lead, outer, k, inner]; lead and k are summed (lead 1: one run of axes). */
  lead: number;
  outer: number;
  k: number;
  inner: number;
  /** 1 for a sum, the count for a mean (an integer). */
  divisor: number;
}

/**
 * Streaming elementwise and per-channel primitives. Only the WASM engine has them: on the JS
 * engine they would be the reference kernels' loops plus two copies, so kernels call those.
 */
export interface VectorOps {
  batchNorm(call: BatchNormCall): void;
  batchNormGrad(call: BatchNormGradCall): void;
  layerNorm(call: LayerNormCall): void;
  layerNormGrad(call: LayerNormGradCall): void;
  select(call: SelectCall): void;
  inRange(call: InRangeCall): void;
  /** out = a op b over n elements. */
  binary(op: ArithmeticOp, a: number, b: number, out: number, n: number): void;
  /** Binary arithmetic with one operand repeated along middle axes (see BroadcastCall). */
  broadcast(call: BroadcastCall): void;
  /**
   * out = op(x) over n elements: exp, erf, sigmoid and tanh within one float32 ulp of the float64 value
   * rounded; neg, abs, sqrt, rsqrt and reciprocal exactly the float64 value rounded.
   */
  unary(op: UnaryOp, x: number, out: number, n: number): void;
  /**
   * For each row r < rows of x ([rows, classes] float32): stats[2r] = the row's max and
   * stats[2r + 1] = sum_c exp(x[r, c] - max), as float64 (stats: a float offset, 2-float aligned).
   */
  rowStats(x: number, classes: number, stats: number, rows: number): void;
  /** y[r, c] = exp(x[r, c] - stats[2r]) * stats[2r + 1] (float64 stats), rounded to float32 once. */
  rowSoftmax(x: number, y: number, classes: number, stats: number, rows: number): void;
  /** A permuted copy (x and y must not overlap). */
  transpose(call: TransposeCall): void;
  /** A strided copy (see CopyCall). */
  copy(call: CopyCall): void;
  /** Sums (or means) over the lead and k axes of [lead, outer, k, inner] (see ReduceSumCall). */
  reduceSum(call: ReduceSumCall): void;
  sgd(call: SgdCall): void;
}

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
  /** Absent on engines where the reference kernels are as fast (the JS engine). */
  readonly vector?: VectorOps;
  /**
   * The identity of the heap when tensors may live in it (`CpuTensor.heap`): kernels then use
   * them in place. Absent on engines whose heap cannot hold a backend's buffers.
   */
  readonly tag?: object;
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

/** The n bytes at float offset p of the heap. */
function bytesAt(e: Engine, p: number, n: number): Uint8Array {
  const h = e.heap();
  return new Uint8Array(h.buffer, h.byteOffset + 4 * p, n);
}

/** Copies bytes (a bool tensor) into fresh heap memory; returns the float offset where they start. */
export function putBytes(e: Engine, data: Uint8Array): number {
  const p = e.alloc(Math.ceil(data.length / 4));
  bytesAt(e, p, data.length).set(data);
  return p;
}

/** Copies out.length bytes at float offset p out into `out`. */
export function getBytes(e: Engine, p: number, out: Uint8Array): void {
  out.set(bytesAt(e, p, out.length));
}

/**
 * Zero-copy operands. A tensor placed in the engine's heap by a CpuBackend with `heap` (see
 * HeapAllocator) is used where it is; any other tensor is copied in (and results copied out).
 */

/** Float offset of a heap-resident tensor, or -1. */
export function residentAt(e: Engine, t: CpuTensor): number {
  return t.heap !== undefined && t.heap === e.tag && (t.data.byteOffset & 3) === 0 ? t.data.byteOffset >> 2 : -1;
}

/** An input's float offset: where it lives, or a fresh copy. */
export function load(e: Engine, t: CpuTensor): number {
  const p = residentAt(e, t);
  return p >= 0 ? p : put(e, t.data as ArrayLike<number>);
}

/**
 * For kernels that update an operand in place (optimizer steps): the output's offset holding a
 * copy of `input` (no copy when the output already is the input's buffer), or fresh scratch.
 */
export function loadInto(e: Engine, input: CpuTensor, output: CpuTensor): number {
  const o = residentAt(e, output);
  if (o < 0) return put(e, input.data as ArrayLike<number>);
  if (residentAt(e, input) !== o) e.heap().set(input.data as ArrayLike<number>, o);
  return o;
}

/** An output's float offset: where it lives, or fresh scratch (contents unspecified). */
export function place(e: Engine, t: CpuTensor): number {
  const p = residentAt(e, t);
  return p >= 0 ? p : e.alloc(t.data.length);
}

/** place, zeroed. */
export function placeZeroed(e: Engine, t: CpuTensor): number {
  const p = place(e, t);
  e.heap().fill(0, p, p + t.data.length);
  return p;
}

/** Delivers the result at p into `t`: nothing to do when t lives at p. */
export function store(e: Engine, p: number, t: CpuTensor): void {
  if (residentAt(e, t) !== p) get(e, p, t.data as Float32Array);
}

/** load for bool / byte tensors (float offset of the first byte). */
export function loadBytes(e: Engine, t: CpuTensor): number {
  const p = residentAt(e, t);
  return p >= 0 ? p : putBytes(e, t.data as Uint8Array);
}

/** place for bool / byte tensors. */
export function placeBytes(e: Engine, t: CpuTensor): number {
  const p = residentAt(e, t);
  return p >= 0 ? p : e.alloc(Math.ceil(t.data.length / 4));
}

/** store for bool / byte tensors. */
export function storeBytes(e: Engine, p: number, t: CpuTensor): void {
  if (residentAt(e, t) !== p) getBytes(e, p, t.data as Uint8Array);
}

/** Grows a heap by doubling; the arena is a bump pointer reset per kernel call. */
export class Arena {
  private top: number;
  constructor(private base: number) {
    this.top = base;
  }
  /** Moves the start (between kernel calls: memory below it is pinned by a HeapAllocator). */
  rebase(base: number): void {
    this.base = base;
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
