import { byteSize, size, tensor, type Backend, type BoundKernel, type KernelSpec, type Tensor, type TypeInfo } from '@pockengine/core';
import type { CpuKernelTable } from './kernel-table.js';
import { chooseKernel, type KernelChoice, type KernelImpl } from './switching.js';
import { CPU_KERNELS } from './kernels/index.js';
import { cpuAlloc, cpuBytes, cpuView, type CpuTensor, type HeapAllocator } from './tensor.js';

/**
 * The CPU backend: synchronous kernels over typed arrays, float32 and float64. Temporaries are
 * views into one arena ArrayBuffer of the planned size; `allocatedBytes` counts what is really
 * allocated (persistent buffers and arenas), so tests can hold the memory plan to its word.
 */
export class CpuBackend implements Backend<CpuTensor> {
  readonly name: string;
  readonly arenaAlignment = 64;
  private readonly impls: KernelImpl[];
  private readonly arenas = new WeakSet<CpuTensor>();
  private live = 0;
  private peak = 0;
  /** The implementation bound to each op instance, and the times that decided it. */
  readonly choices: KernelChoice[] = [];

  private readonly poison: boolean;
  private readonly heap: HeapAllocator | undefined;

  /**
   * `kernels`: one table, or several implementations to switch between per op instance by
   * measuring (e.g. `[{ name: 'js', kernels: CPU_KERNELS }, { name: 'wasm-simd', kernels: FAST_KERNELS }]`).
   * `poisonOutputs` (tests): fill every fresh output with NaN (0xff bytes) before its kernel runs,
   * so a kernel that reads or leaves unwritten part of its output shows up as NaNs.
   * `heap`: place every buffer (weights, inputs, the arena) in a kernel engine's heap, where the
   * fast kernels use them in place instead of copying operands in and out (`fastHeap()`).
   */
  constructor(kernels: Partial<CpuKernelTable> | readonly KernelImpl[] = CPU_KERNELS, opts: { poisonOutputs?: boolean; heap?: HeapAllocator } = {}) {
    this.impls = Array.isArray(kernels) ? [...kernels] : [{ name: 'js', kernels: kernels as Partial<CpuKernelTable> }];
    this.name = this.impls.length > 1 ? `cpu(${this.impls.map((i) => i.name).join('|')})` : 'cpu';
    this.poison = opts.poisonOutputs ?? false;
    this.heap = opts.heap;
  }

  prepare(spec: KernelSpec): BoundKernel<CpuTensor> | undefined {
    const chosen = chooseKernel(spec, this.impls, (t) => this.buffer(t.dtype, t.shape), (t) => this.releaseScratch(t));
    if (!chosen) return undefined;
    this.choices.push(chosen.choice);
    const k = chosen.kernel;
    const attrs = spec.attrs;
    // Kernels write every element of their outputs (arena buffers hold stale data; a kernel that
    // accumulates zeroes its output first), so nothing is cleared here.
    if (!this.poison) return (inputs, outputs) => k(inputs, outputs, attrs);
    const fresh = spec.outputs.map((_, i) => (spec.inPlace?.[i] ?? null) === null);
    return (inputs, outputs) => {
      for (let i = 0; i < outputs.length; i++) if (fresh[i]) poisonTensor(outputs[i]!);
      k(inputs, outputs, attrs);
    };
  }

  alloc(t: TypeInfo): CpuTensor {
    const buf = this.buffer(t.dtype, t.shape);
    this.track(cpuBytes(buf));
    return buf;
  }

  allocArena(bytes: number): CpuTensor {
    const buf = this.buffer('uint8', [bytes]);
    this.arenas.add(buf);
    this.track(bytes);
    return buf;
  }

  /** A zeroed buffer: in the engine heap when there is one (an ordinary one if it cannot grow). */
  private buffer(dtype: TypeInfo['dtype'], shape: TypeInfo['shape']): CpuTensor {
    const h = this.heap;
    if (!h) return cpuAlloc(dtype, shape);
    const bytes = size(shape) * byteSize(dtype);
    let address: number;
    try {
      address = h.alloc(Math.max(bytes, 1));
    } catch {
      return cpuAlloc(dtype, shape);
    }
    const t = cpuView(h.buffer(), address, dtype, shape);
    new Uint8Array(t.data.buffer, address, bytes).fill(0);
    return { ...t, heap: h.tag };
  }

  view(arena: CpuTensor, offset: number, t: TypeInfo): CpuTensor {
    const v = cpuView(arena.data.buffer, arena.data.byteOffset + offset, t.dtype, t.shape);
    return arena.heap ? { ...v, heap: arena.heap } : v;
  }

  private track(bytes: number): void {
    this.live += bytes;
    if (this.live > this.peak) this.peak = this.live;
  }

  /** Gives back a buffer that was never counted (backend switching's timing operands). */
  private releaseScratch(buf: CpuTensor): void {
    if (buf.heap && this.heap && buf.heap === this.heap.tag) this.heap.free(buf.data.byteOffset);
  }

  free(buf: CpuTensor): void {
    this.live -= this.arenas.has(buf) ? buf.data.byteLength : cpuBytes(buf);
    this.arenas.delete(buf);
    if (buf.heap && this.heap && buf.heap === this.heap.tag) this.heap.free(buf.data.byteOffset);
  }

  write(buf: CpuTensor, t: Tensor): void {
    const src = t.data;
    if (src instanceof BigInt64Array) for (let i = 0; i < src.length; i++) buf.data[i] = Number(src[i]);
    else buf.data.set(src as ArrayLike<number>);
  }

  copy(src: CpuTensor, dst: CpuTensor): void {
    dst.data.set(src.data);
  }

  async read(buf: CpuTensor): Promise<Tensor> {
    return this.readSync(buf);
  }

  readSync(buf: CpuTensor): Tensor {
    return tensor(buf.dtype, buf.shape, buf.dtype === 'int64' ? buf.data : buf.data.slice());
  }

  allocatedBytes(): number {
    return this.live;
  }
  peakBytes(): number {
    return this.peak;
  }
  resetPeak(): void {
    this.peak = this.live;
  }
}

/** Fills a tensor's bytes with 0xff: NaN for floats, -1 / 255 / true for integers and bools. */
function poisonTensor(t: CpuTensor): void {
  new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength).fill(0xff);
}
