/**
 * The WASM-SIMD engine: one generated module (GEMM + conv helpers) on one linear memory, laid out
 *
 *   [0, 4096)          descriptors of the conv helpers
 *   [4096, arena)      one GEMM packing workspace per thread
 *   [arena, ...)       bump-allocated operands of the current kernel call (grows the memory)
 *
 * With a thread pool the memory is shared and each primitive is split into disjoint column / row
 * blocks (GEMM) or channel ranges (im2col, depthwise) that the pool runs in parallel. The
 * streaming primitives (batch norm, elementwise, broadcasting arithmetic, unary ops, transpose,
 * strided copies, sums over an axis, SGD, softmax rows) are `vector` (wasm-vector-ops.ts).
 */
import type { HeapAllocator } from '../tensor.js';
import { Arena, checkGemmBatch, HeapExhausted, type DepthwiseCall, type DepthwiseKind, type Engine, type GemmCall, type Im2colCall } from './engine.js';
import { splitRange, type ThreadPool } from './thread-pool.js';
import { ModuleBuilder } from './wasm-builder.js';
import { addIm2colKernels, IM2COL_FIELDS } from './wasm-conv.js';
import { addDepthwiseKernels, DEPTHWISE_FIELDS, depthwiseScratchFloats } from './wasm-depthwise.js';
import { addBroadcastKernels, BROADCAST_EXPORTS } from './wasm-broadcast.js';
import { addElementwiseKernels, ELEMENTWISE_EXPORTS } from './wasm-elementwise.js';
import { addNormKernels, NORM_EXPORTS } from './wasm-norm.js';
import { addTransposeKernels, TRANSPOSE_EXPORTS } from './wasm-transpose.js';
import { addCopyKernels, COPY_EXPORTS } from './wasm-copy.js';
import { addReduceKernels, REDUCE_EXPORTS } from './wasm-reduce.js';
import { addSoftmaxKernels, SOFTMAX_EXPORTS } from './wasm-softmax.js';
import { addUnaryKernels, UNARY_EXPORTS } from './wasm-unary.js';
import { WasmVectorOps } from './wasm-vector-ops.js';

export { splitRange } from './thread-pool.js';
import { addGemm, GEMM_ACCUMULATE, GEMM_COL_BIAS, GEMM_RELU, GEMM_RELU6, GEMM_ROW_BIAS, gemmWorkspaceBytes, type MicroShape } from './wasm-gemm.js';

const F32_BITS = new Float32Array(1);
const I32_BITS = new Int32Array(F32_BITS.buffer);

/** 4 x 8 measured fastest under V8: 8 accumulators + 2 B vectors + 1 A splat fit the 16 xmm registers without spills. */
export const MICRO: MicroShape = { mr: 4, nr: 8 };
/** Cache blocks: packed A (mc x kc = 128 KiB) in L2, a kc x NR sliver of B (8 KiB) in L1. */
export const BLOCKS = { mc: 128, kc: 256, nc: 1024 };
export const KERNEL_EXPORTS = [
  'gemm', 'gemm_tiles', 'im2col', 'col2im', 'depthwise_forward', 'depthwise_grad_input', 'depthwise_grad_weight',
  ...NORM_EXPORTS, ...ELEMENTWISE_EXPORTS, ...BROADCAST_EXPORTS, ...UNARY_EXPORTS, ...TRANSPOSE_EXPORTS, ...COPY_EXPORTS,
  ...REDUCE_EXPORTS, ...SOFTMAX_EXPORTS,
] as const;
/** Memory limits in 64 KiB pages: 4 GiB (the wasm32 limit) unshared; shared memory reserves its maximum up front. */
export const MAX_PAGES = 65536;
export const SHARED_MAX_PAGES = 32768;

const IM2COL_DESC = 256;
const DEPTHWISE_DESC = 512;
/** The i32 chunk counter of gemm_tiles. */
const GEMM_COUNTER = 2048;
const WS_BASE = 4096;
/** When a primitive is worth splitting across threads (a fork-join costs ~10-50 us). */
export interface SplitTuning {
  /** Minimum multiply-adds of a GEMM per thread. */
  minMacsPerThread: number;
  /** Minimum elements (im2col, batch norm, elementwise) or multiply-adds (depthwise) per thread. */
  minElementsPerThread: number;
}
/** Chunks of a split GEMM per thread (gemm_tiles); a chunk has at least a quarter of minMacsPerThread. */
const CHUNKS_PER_THREAD = 4;
export const DEFAULT_SPLIT: SplitTuning = { minMacsPerThread: 1 << 21, minElementsPerThread: 1 << 16 };

const moduleBytes = new Map<string, Uint8Array<ArrayBuffer>>();

/**
 * The kernel module's binary, built once per memory kind and GEMM flavour: `madd` builds the
 * micro-kernel on relaxed SIMD's f32x4.relaxed_madd (one FMA instead of a multiply and an add:
 * ~18% more GEMM throughput here, where the GEMM is instruction-bound), else on mul + add.
 */
export function kernelModuleBytes(shared: boolean, madd = false): Uint8Array<ArrayBuffer> {
  const key = `${shared}|${madd}`;
  let bytes = moduleBytes.get(key);
  if (!bytes) {
    const mod = new ModuleBuilder({ shared, initial: 1, maximum: shared ? SHARED_MAX_PAGES : MAX_PAGES });
    addGemm(mod, { ...MICRO, madd }, shared);
    addIm2colKernels(mod);
    addDepthwiseKernels(mod);
    addNormKernels(mod);
    addElementwiseKernels(mod);
    addBroadcastKernels(mod);
    addUnaryKernels(mod);
    addTransposeKernels(mod);
    addCopyKernels(mod);
    addReduceKernels(mod);
    addSoftmaxKernels(mod);
    bytes = mod.build();
    moduleBytes.set(key, bytes);
  }
  return bytes;
}

type Exports = Record<(typeof KERNEL_EXPORTS)[number], (...args: number[]) => void>;

/**
 * Long-lived blocks (a CpuBackend's weights and arena) in the engine's memory, between the GEMM
 * workspaces and the per-call scratch arena, which starts above the highest live block. First
 * fit over a free list with coalescing; 64-byte aligned, with 64 bytes of slack after each block
 * (the kernels may read whole registers past an operand's end).
 */
export class PinnedHeap implements HeapAllocator {
  private readonly live = new Map<number, number>();
  /** Free blocks [address, bytes] below `top`, sorted by address, never adjacent. */
  private holes: [number, number][] = [];
  private top: number;

  constructor(
    readonly tag: WebAssembly.Memory,
    private readonly base: number,
    private readonly grow: (bytes: number) => void,
    private readonly moved: (top: number) => void,
  ) {
    this.top = base;
  }

  buffer(): ArrayBufferLike {
    return this.tag.buffer;
  }

  /** Bytes from the base to the end of the highest live block. */
  extent(): number {
    return this.top - this.base;
  }

  alloc(bytes: number): number {
    const size = Math.ceil(bytes / 64) * 64 + 64;
    const i = this.holes.findIndex(([, b]) => b >= size);
    let address: number;
    if (i >= 0) {
      const [a, b] = this.holes[i]!;
      address = a;
      if (b === size) this.holes.splice(i, 1);
      else this.holes[i] = [a + size, b - size];
    } else {
      address = this.top;
      this.grow(address + size);
      this.top = address + size;
      this.moved(this.top);
    }
    this.live.set(address, size);
    return address;
  }

  free(address: number): void {
    const size = this.live.get(address);
    if (size === undefined) return;
    this.live.delete(address);
    let k = this.holes.findIndex(([a]) => a > address);
    if (k < 0) k = this.holes.length;
    this.holes.splice(k, 0, [address, size]);
    // coalesce with the next and the previous hole
    const next = this.holes[k + 1];
    if (next && address + size === next[0]) {
      this.holes[k]![1] += next[1];
      this.holes.splice(k + 1, 1);
    }
    const prev = this.holes[k - 1];
    if (prev && prev[0] + prev[1] === address) {
      prev[1] += this.holes[k]![1];
      this.holes.splice(k, 1);
    }
    // a hole at the top gives the memory back to the scratch arena
    const last = this.holes.at(-1);
    if (last && last[0] + last[1] === this.top) {
      this.top = last[0];
      this.holes.pop();
      this.moved(this.top);
    }
  }
}

export class WasmEngine implements Engine {
  readonly name: string;
  readonly threads: number;
  readonly vector: WasmVectorOps;
  /** Set when the memory is shared: a CpuBackend may then keep its buffers here (see pinned). */
  readonly tag?: object;
  private pinnedHeap: PinnedHeap | undefined;
  /** gemm_tiles' chunk counter (a view of shared memory: it never detaches); only with a pool. */
  private readonly counter: Int32Array | undefined;
  private view: Float32Array;
  private readonly arena: Arena;
  private readonly exports: Exports;
  private readonly wsBytes: number;

  constructor(
    private readonly memory: WebAssembly.Memory,
    instance: WebAssembly.Instance,
    private readonly pool: ThreadPool | null,
    private readonly split: SplitTuning = DEFAULT_SPLIT,
    /** Whether the module's GEMM uses relaxed SIMD multiply-add (kernelModuleBytes). */
    readonly madd = false,
  ) {
    this.exports = instance.exports as unknown as Exports;
    this.threads = pool?.size ?? 1;
    this.name = pool ? 'wasm-simd-threads' : 'wasm-simd';
    this.wsBytes = Math.ceil(gemmWorkspaceBytes(MICRO, BLOCKS.mc, BLOCKS.kc, BLOCKS.nc) / 64) * 64;
    this.arena = new Arena((WS_BASE + this.threads * this.wsBytes) / 4);
    this.view = new Float32Array(memory.buffer);
    this.ensure(this.arena.take(0)[1]);
    this.arena.reset();
    this.vector = new WasmVectorOps(this.memory, (name, tasks) => this.run(name, tasks), this.threads, split.minElementsPerThread);
    if (typeof SharedArrayBuffer === 'function' && memory.buffer instanceof SharedArrayBuffer) this.tag = memory;
    if (pool) this.counter = new Int32Array(memory.buffer, GEMM_COUNTER, 1);
  }

  /**
   * Where a CpuBackend can keep its buffers so that kernels use them in place: only on shared
   * memory (growing a non-shared memory detaches every view of it). Call between kernel calls.
   */
  pinned(): HeapAllocator | undefined {
    if (!this.tag) return undefined;
    this.pinnedHeap ??= new PinnedHeap(
      this.memory,
      WS_BASE + this.threads * this.wsBytes,
      (bytes) => this.ensure(Math.ceil(bytes / 4) + 64),
      (top) => this.arena.rebase(top / 4),
    );
    return this.pinnedHeap;
  }

  heap(): Float32Array {
    if (this.view.byteLength !== this.memory.buffer.byteLength) this.view = new Float32Array(this.memory.buffer);
    return this.view;
  }

  reset(): void {
    this.arena.reset();
  }

  alloc(n: number): number {
    const [p, end] = this.arena.take(n);
    this.ensure(end);
    return p;
  }

  /** Grows the memory to hold `floats` floats (throws HeapExhausted past the maximum). */
  private ensure(floats: number): void {
    const have = this.memory.buffer.byteLength;
    if (floats * 4 <= have) return;
    try {
      this.memory.grow(Math.ceil((floats * 4 - have) / 65536));
    } catch (e) {
      throw new HeapExhausted(floats * 4, e);
    }
  }

  /** Stops the worker pool. */
  dispose(): void {
    this.pool?.terminate();
  }

  private run(name: keyof Exports, tasks: number[][]): void {
    if (tasks.length === 1 || !this.pool) for (const t of tasks) this.exports[name](...t);
    else this.pool.run(name, tasks);
  }

  gemm(g: GemmCall): void {
    const count = g.batch?.count ?? 1;
    if (g.m === 0 || g.n === 0 || count === 0) return;
    const { strideA = 0, strideB = 0, strideC = 0, sum = false } = g.batch ?? {};
    checkGemmBatch(g);
    if (g.k === 0) {
      if (sum) return this.emptyGemm(g);
      for (let t = 0; t < count; t++) this.emptyGemm({ ...g, c: g.c + t * strideC });
      return;
    }
    // alpha travels as its f32 bits (worker arguments are i32)
    F32_BITS[0] = g.alpha ?? 1;
    const alphaBits = I32_BITS[0]!;
    const macs = g.m * g.n * g.k;
    const parts = Math.max(1, Math.min(this.threads, Math.floor((macs * count) / this.split.minMacsPerThread)));
    const { mc, kc, nc } = BLOCKS;
    const bias = g.flags & (GEMM_ROW_BIAS | GEMM_COL_BIAS) ? g.bias : 0;
    const whole = [g.m, g.n, g.k, g.a * 4, g.rsA, g.csA, g.b * 4, g.rsB, g.csB, g.c * 4, g.ldc, g.flags, bias * 4, WS_BASE, mc, kc, nc, alphaBits];
    if (parts === 1 || !this.pool) {
      for (let t = 0; t < count; t++) {
        if (t > 0) {
          whole[3] += 4 * strideA;
          whole[6] += 4 * strideB;
          if (sum) whole[11] |= GEMM_ACCUMULATE;
          else whole[9] += 4 * strideC;
        }
        this.exports.gemm(...whole);
      }
      return;
    }
    // split each matrix's wider side (chunks aligned to the register tile) into chunks the threads
    // claim until none is left (see gemm_tiles); a chunk re-packs the other operand's block, so it
    // keeps at least a quarter of minMacsPerThread
    const byCols = g.n / MICRO.nr >= g.m / MICRO.mr;
    const total = byCols ? g.n : g.m;
    const align = byCols ? MICRO.nr : MICRO.mr;
    const most = Math.ceil(total / align);
    // a summed batch's chunks each run all `count` products
    const matrices = sum ? 1 : count;
    const chunkMacs = sum ? macs * count : macs;
    const perMatrix = Math.max(
      Math.min(Math.ceil(parts / matrices), most),
      Math.min(Math.ceil((parts * CHUNKS_PER_THREAD) / matrices), Math.floor((4 * chunkMacs) / this.split.minMacsPerThread), most),
    );
    const chunk = Math.ceil(Math.ceil(total / Math.max(1, perMatrix)) / align) * align;
    this.counter![0] = 0;
    this.run(
      'gemm_tiles',
      Array.from({ length: parts }, (_, slot) => {
        const t = whole.slice();
        t[13] = WS_BASE + slot * this.wsBytes;
        t.push(GEMM_COUNTER, chunk, byCols ? 1 : 0, count, strideA, strideB, strideC, sum ? 1 : 0);
        return t;
      }),
    );
  }

  /** k = 0: the product is empty, only the epilogue remains. */
  private emptyGemm(g: GemmCall): void {
    const h = this.heap();
    for (let i = 0; i < g.m; i++)
      for (let j = 0; j < g.n; j++) {
        const at = g.c + i * g.ldc + j;
        let v = g.flags & GEMM_ACCUMULATE ? h[at]! : 0; // alpha * (empty product) = 0
        if (g.flags & GEMM_ROW_BIAS) v += h[g.bias + i]!;
        if (g.flags & GEMM_COL_BIAS) v += h[g.bias + j]!;
        if (g.flags & (GEMM_RELU | GEMM_RELU6)) v = v < 0 ? 0 : g.flags & GEMM_RELU6 && v > 6 ? 6 : v;
        h[at] = v;
      }
  }

  private writeDesc(at: number, fields: readonly string[], values: Record<string, number>): void {
    const i32 = new Int32Array(this.memory.buffer, at, fields.length);
    fields.forEach((f, i) => (i32[i] = values[f]!));
  }

  private im2colLike(name: 'im2col' | 'col2im', d: Im2colCall): void {
    this.writeDesc(IM2COL_DESC, IM2COL_FIELDS, { ...d, x: d.x * 4, col: d.col * 4 });
    const work = d.channels * d.kh * d.kw * d.oh * d.ow;
    const parts = Math.max(1, Math.min(this.threads, Math.floor(work / this.split.minElementsPerThread)));
    this.run(name, splitRange(d.channels, parts, 1).map(([c0, c1]) => [IM2COL_DESC, c0, c1]));
  }

  im2col(d: Im2colCall): void {
    this.im2colLike('im2col', d);
  }

  col2im(d: Im2colCall): void {
    this.im2colLike('col2im', d);
  }

  depthwise(kind: DepthwiseKind, d: DepthwiseCall): void {
    const owv = Math.ceil(d.ow / 8) * 8;
    const shift = Math.floor(((d.kw - 1) * d.dw) / d.sw);
    // the forward kernel with unit row stride sweeps each plane flat (see wasm-conv.ts): phase rows
    // only need ow + shift columns, plus one spare row for the reads of the dropped columns;
    // otherwise rows are computed owv wide and must hold owv + shift columns
    const flat = kind === 'forward' && d.sh === 1;
    const hp = (d.oh - 1) * d.sh + (d.kh - 1) * d.dh + 1 + (flat ? 1 : 0);
    const wq = flat ? Math.ceil((d.ow + shift) / 4) * 4 : Math.ceil((owv + shift + 1) / 8) * 8;
    const taps = d.kh * d.kw;
    const table = this.alloc(taps);
    const scratchFloats = depthwiseScratchFloats({ sw: d.sw, hp, wq, oh: d.oh, owv });
    const parts = Math.max(1, Math.min(this.threads, d.channels, Math.floor((d.batch * d.channels * d.oh * d.ow * taps) / this.split.minElementsPerThread)));
    const scratch = this.alloc(parts * scratchFloats);
    // byte offset of tap (ki, kj) in the phase planes: phase (kj*dw) % sw, row ki*dh, column floor(kj*dw / sw)
    const offsets = new Int32Array(this.memory.buffer, table * 4, taps);
    for (let ki = 0; ki < d.kh; ki++)
      for (let kj = 0; kj < d.kw; kj++) {
        const phase = (kj * d.dw) % d.sw;
        offsets[ki * d.kw + kj] = ((phase * hp + ki * d.dh) * wq + Math.floor((kj * d.dw) / d.sw)) * 4;
      }
    const bytes = (p: number) => p * 4;
    this.writeDesc(DEPTHWISE_DESC, DEPTHWISE_FIELDS, {
      ...d,
      x: bytes(d.x),
      weights: bytes(d.weights),
      bias: bytes(d.bias),
      y: bytes(d.y),
      dy: bytes(d.dy),
      owv,
      hp,
      wq,
      taps,
      tapOffsets: bytes(table),
    });
    const name = kind === 'forward' ? 'depthwise_forward' : kind === 'grad_input' ? 'depthwise_grad_input' : 'depthwise_grad_weight';
    this.run(
      name,
      splitRange(d.channels, parts, 1).map(([c0, c1], i) => [DEPTHWISE_DESC, c0, c1, bytes(scratch + i * scratchFloats)]),
    );
  }
}
