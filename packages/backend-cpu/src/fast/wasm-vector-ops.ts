/**
 * The WASM engine's VectorOps: writes a descriptor or packs the arguments of the kernels of
 * wasm-norm.ts, wasm-elementwise.ts, wasm-broadcast.ts, wasm-unary.ts, wasm-transpose.ts,
 * wasm-copy.ts, wasm-reduce.ts and wasm-softmax.ts and splits the work into
 * channel ranges (batch norm), element ranges (elementwise), or row / column ranges (copies,
 * reductions), one per thread, once a problem is large enough to pay for a fork-join
 * (SplitTuning.minElementsPerThread elements per thread).
 */
import { splitRange } from './thread-pool.js';
import type {
  ArithmeticOp,
  BatchNormCall,
  BatchNormGradCall,
  BroadcastCall,
  CopyCall,
  InRangeCall,
  LayerNormCall,
  LayerNormGradCall,
  ReduceSumCall,
  SelectCall,
  SgdCall,
  TransposeCall,
  UnaryOp,
  VectorOps,
} from './engine.js';
import { broadcastFlags, type BROADCAST_EXPORTS } from './wasm-broadcast.js';
import { COPY_FIELDS, type COPY_EXPORTS } from './wasm-copy.js';
import type { REDUCE_EXPORTS } from './wasm-reduce.js';
import { TRANSPOSE_FIELDS, type TRANSPOSE_EXPORTS } from './wasm-transpose.js';
import type { SOFTMAX_EXPORTS } from './wasm-softmax.js';
import type { UNARY_EXPORTS } from './wasm-unary.js';
import { IN_RANGE_STRICT_HI, IN_RANGE_STRICT_LO, SELECT_BLOCK_A, SELECT_BLOCK_B, SELECT_BLOCK_COND, SELECT_SCALAR_A, SELECT_SCALAR_B, SGD_DECAY, SGD_FIRST, SGD_MOMENTUM, SGD_NESTEROV, type ELEMENTWISE_EXPORTS } from './wasm-elementwise.js';
import { BATCH_NORM_FIELDS, BATCH_NORM_GRAD_FIELDS, LAYER_NORM_FIELDS, LAYER_NORM_GRAD_FIELDS, NORM_BIAS, NORM_RELU, NORM_RELU6, NORM_TRAINING, type NORM_EXPORTS } from './wasm-norm.js';

export type VectorExport =
  | (typeof NORM_EXPORTS)[number]
  | (typeof ELEMENTWISE_EXPORTS)[number]
  | (typeof BROADCAST_EXPORTS)[number]
  | (typeof UNARY_EXPORTS)[number]
  | (typeof TRANSPOSE_EXPORTS)[number]
  | (typeof COPY_EXPORTS)[number]
  | (typeof REDUCE_EXPORTS)[number]
  | (typeof SOFTMAX_EXPORTS)[number];

/** Byte addresses of the descriptors (below the engine's GEMM workspace, clear of the conv ones). */
const BATCH_NORM_DESC = 1024;
const BATCH_NORM_GRAD_DESC = 1152;
const TRANSPOSE_DESC = 1280;
const COPY_DESC = 1344;
const LAYER_NORM_DESC = 1408;
const LAYER_NORM_GRAD_DESC = 1472;

/**
 * Copies and sums split across threads only at this many times minElementsPerThread: with little
 * arithmetic per element a fork-join pays only on long arrays (on a 2-core machine, split copies
 * and sums of 512K elements were no faster than one thread; of 2M, 1.2-1.5x faster).
 */
const BANDWIDTH_SPLIT = 8;

/** Unary ops computed through exp / a series in float64 lanes (several ns per element). */
const TRANSCENDENTAL: ReadonlySet<UnaryOp> = new Set(['exp', 'erf', 'sigmoid', 'tanh']);

const BITS = new Float32Array(1);
const BITS_I32 = new Int32Array(BITS.buffer);

/** The float32 bits of v as an i32 (how float arguments reach the kernels). */
export function f32Bits(v: number): number {
  BITS[0] = v;
  return BITS_I32[0]!;
}

/** Runs one kernel export per task: in parallel on the engine's pool when there are several. */
export type RunTasks = (name: VectorExport, tasks: number[][]) => void;

export class WasmVectorOps implements VectorOps {
  constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly run: RunTasks,
    private readonly threads: number,
    private readonly minElementsPerThread: number,
  ) {}

  private parts(elements: number, cap: number): number {
    return Math.max(1, Math.min(this.threads, cap, Math.floor(elements / this.minElementsPerThread)));
  }

  private writeDesc<K extends readonly string[]>(at: number, fields: K, values: Record<K[number], number>): void {
    const i32 = new Int32Array(this.memory.buffer, at, fields.length);
    fields.forEach((f: K[number], i) => (i32[i] = values[f]));
  }

  private byChannel(name: VectorExport, desc: number, channels: number, elements: number): void {
    if (channels === 0) return;
    this.run(name, splitRange(channels, this.parts(elements, channels), 1).map(([c0, c1]) => [desc, c0, c1]));
  }

  /** Element ranges aligned to 16 (whole SIMD blocks per thread) with the kernel's other arguments. */
  private byElement(name: VectorExport, n: number, args: (start: number, end: number) => number[]): void {
    if (n === 0) return;
    this.run(name, splitRange(n, this.parts(n, Infinity), 16).map(([s, e]) => args(s, e)));
  }

  batchNorm(c: BatchNormCall): void {
    const flags = (c.training ? NORM_TRAINING : 0) | (c.activation === 'relu' ? NORM_RELU : c.activation === 'relu6' ? NORM_RELU | NORM_RELU6 : 0);
    const b = (p: number) => 4 * p;
    const { outer, channels, inner } = c;
    this.writeDesc(BATCH_NORM_DESC, BATCH_NORM_FIELDS, {
      outer, channels, inner,
      x: b(c.x), y: b(c.y), scale: b(c.scale), bias: b(c.bias), mean: b(c.mean), variance: b(c.variance),
      flags, epsilon: f32Bits(c.epsilon),
    });
    this.byChannel('batch_norm', BATCH_NORM_DESC, c.channels, c.outer * c.channels * c.inner);
  }

  batchNormGrad(c: BatchNormGradCall): void {
    const b = (p: number) => 4 * p;
    const { outer, channels, inner } = c;
    this.writeDesc(BATCH_NORM_GRAD_DESC, BATCH_NORM_GRAD_FIELDS, {
      outer, channels, inner,
      x: b(c.x), scale: b(c.scale), mean: b(c.mean), variance: b(c.variance), dy: b(c.dy), dx: b(c.dx), dscale: b(c.dscale), dbias: b(c.dbias),
      flags: c.training ? NORM_TRAINING : 0, epsilon: f32Bits(c.epsilon),
    });
    this.byChannel('batch_norm_grad', BATCH_NORM_GRAD_DESC, c.channels, c.outer * c.channels * c.inner);
  }

  layerNorm(c: LayerNormCall): void {
    const b = (p: number) => 4 * p;
    this.writeDesc(LAYER_NORM_DESC, LAYER_NORM_FIELDS, {
      x: b(c.x), y: b(c.y), scale: b(c.scale), bias: c.bias < 0 ? 0 : b(c.bias), mean: b(c.mean), invStd: b(c.invStd),
      d: c.d, flags: c.bias < 0 ? 0 : NORM_BIAS, epsilon: f32Bits(c.epsilon),
    });
    this.byChannel('layer_norm', LAYER_NORM_DESC, c.rows, c.rows * c.d);
  }

  layerNormGrad(c: LayerNormGradCall): void {
    const b = (p: number) => 4 * p;
    const { rows, d } = c;
    this.writeDesc(LAYER_NORM_GRAD_DESC, LAYER_NORM_GRAD_FIELDS, {
      x: b(c.x), scale: b(c.scale), mean: b(c.mean), invStd: b(c.invStd), dy: b(c.dy), dx: b(c.dx), d,
    });
    const ranges = rows === 0 ? [] : splitRange(rows, this.parts(rows * d, rows), 1);
    this.run('layer_norm_grad', ranges.map(([r0, r1], t) => [LAYER_NORM_GRAD_DESC, r0, r1, b(c.scratch + t * 4 * d)]));
    // the threads' float64 column sums, added in float64 and rounded once
    const wide = new Float64Array(this.memory.buffer, b(c.scratch), ranges.length * 2 * d);
    const out = new Float32Array(this.memory.buffer);
    for (let j = 0; j < d; j++) {
      let ds = 0;
      let db = 0;
      for (let t = 0; t < ranges.length; t++) {
        ds += wide[t * 2 * d + j]!;
        db += wide[t * 2 * d + d + j]!;
      }
      out[c.dscale + j] = ds;
      out[c.dbias + j] = db;
    }
  }

  select(c: SelectCall): void {
    const flags =
      (c.scalarA ? SELECT_SCALAR_A : 0) | (c.scalarB ? SELECT_SCALAR_B : 0) |
      (c.blocks?.cond ? SELECT_BLOCK_COND : 0) | (c.blocks?.a ? SELECT_BLOCK_A : 0) | (c.blocks?.b ? SELECT_BLOCK_B : 0);
    const period = Math.max(1, c.period ?? c.n);
    this.byElement('select', c.n, (s, e) => [4 * c.cond, 4 * c.a, 4 * c.b, 4 * c.out, s, e, flags, period]);
  }

  inRange(c: InRangeCall): void {
    const flags = (c.strictLo ? IN_RANGE_STRICT_LO : 0) | (c.strictHi ? IN_RANGE_STRICT_HI : 0);
    this.byElement('in_range', c.n, (s, e) => [4 * c.x, 4 * c.y, s, e, f32Bits(c.lo), f32Bits(c.hi), flags]);
  }

  binary(op: ArithmeticOp, a: number, b: number, out: number, n: number): void {
    this.byElement(op, n, (s, e) => [4 * a, 4 * b, 4 * out, s, e]);
  }

  broadcast(c: BroadcastCall): void {
    const flags = broadcastFlags(c.op, c.swap);
    if (c.inner === 1) this.byElement('broadcast_row', c.n, (s, e) => [4 * c.a, 4 * c.b, 4 * c.out, s, e, c.rep, flags]);
    else this.byElement('broadcast_block', c.n, (s, e) => [4 * c.a, 4 * c.b, 4 * c.out, s, e, c.rep, c.inner, flags]);
  }

  rowStats(x: number, classes: number, stats: number, rows: number): void {
    this.byRow('row_stats', rows, classes, (r0, r1) => [4 * x, classes, 4 * stats, r0, r1]);
  }

  rowSoftmax(x: number, y: number, classes: number, stats: number, rows: number): void {
    this.byRow('row_softmax', rows, classes, (r0, r1) => [4 * x, 4 * y, classes, 4 * stats, r0, r1]);
  }

  /** Row ranges of a [rows, classes] problem, one per thread. */
  private byRow(name: VectorExport, rows: number, classes: number, args: (r0: number, r1: number) => number[]): void {
    if (rows === 0 || classes === 0) return;
    this.run(name, splitRange(rows, this.parts(rows * classes, rows), 1).map(([r0, r1]) => args(r0, r1)));
  }

  unary(op: UnaryOp, x: number, out: number, n: number): void {
    if (n === 0) return;
    // a transcendental costs ~2 ns per element in float64 lanes, so it splits from a quarter of
    // the elements a cheap op needs (sigmoid over LLaMA's [4, 32, 768]: 0.22 -> 0.12 ms)
    const weight = TRANSCENDENTAL.has(op) ? 4 : 1;
    this.run(op, splitRange(n, this.parts(n * weight, Infinity), 16).map(([s, e]) => [4 * x, 4 * out, s, e]));
  }

  transpose(c: TransposeCall): void {
    const [d0, d1, d2, d3] = c.dims;
    const [s0, s1, s2, s3] = c.strides;
    this.writeDesc(TRANSPOSE_DESC, TRANSPOSE_FIELDS, { x: 4 * c.x, y: 4 * c.y, d0, d1, d2, d3, s0, s1, s2, s3 });
    this.byChannel('transpose', TRANSPOSE_DESC, d0 * d1, d0 * d1 * d2 * d3);
  }

  copy(c: CopyCall): void {
    const [d0, d1, d2, d3] = c.dims;
    const [xs0, xs1, xs2, xs3] = c.xStrides;
    const [ys0, ys1, ys2, ys3] = c.yStrides;
    const rows = d0 * d1 * d2;
    if (rows === 0 || d3 === 0) return;
    this.writeDesc(COPY_DESC, COPY_FIELDS, { x: 4 * c.x, y: 4 * c.y, d0, d1, d2, d3, xs0, xs1, xs2, xs3, ys0, ys1, ys2, ys3 });
    const parts = this.parts(Math.floor((rows * d3) / BANDWIDTH_SPLIT), Infinity);
    // whole rows per thread; with fewer rows than threads (one long run), columns of every row
    const tasks =
      rows >= parts
        ? splitRange(rows, parts, 1).map(([r0, r1]) => [COPY_DESC, r0, r1, 0, d3])
        : splitRange(d3, parts, 16).map(([j0, j1]) => [COPY_DESC, 0, rows, j0, j1]);
    this.run('copy', tasks);
  }

  reduceSum(c: ReduceSumCall): void {
    const { lead, outer, k, inner, divisor } = c;
    const [x, y] = [4 * c.x, 4 * c.y];
    if (outer === 0 || inner === 0) return;
    const plane = outer * k * inner;
    const parts = this.parts(Math.floor((Math.max(1, lead * k) * outer * inner) / BANDWIDTH_SPLIT), Infinity);
    if (inner === 1) return this.run('reduce_rows', splitRange(outer, Math.min(parts, outer), 1).map(([r0, r1]) => [x, y, k, divisor, r0, r1, lead, plane]));
    // whole [k, inner] blocks per thread, or 16-column stripes of every block when there are few
    const tasks =
      outer >= parts
        ? splitRange(outer, parts, 1).map(([o0, o1]) => [x, y, k, inner, divisor, o0, o1, 0, inner, lead, plane])
        : splitRange(inner, parts, 16).map(([c0, c1]) => [x, y, k, inner, divisor, 0, outer, c0, c1, lead, plane]);
    this.run('reduce_cols', tasks);
  }

  sgd(c: SgdCall): void {
    const momentum = c.momentum !== 0 ? SGD_MOMENTUM | (c.first ? SGD_FIRST : 0) | (c.nesterov ? SGD_NESTEROV : 0) : 0;
    const flags = momentum | (c.weightDecay !== 0 ? SGD_DECAY : 0);
    const floats = [c.lr, c.momentum, 1 - c.dampening, c.weightDecay].map(f32Bits);
    this.byElement('sgd', c.n, (s, e) => [4 * c.param, 4 * c.grad, 4 * c.velocity, s, e, ...floats, flags]);
  }
}
