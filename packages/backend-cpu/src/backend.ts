import { tensor, type Backend, type BoundKernel, type KernelSpec, type Tensor, type TypeInfo } from '@pockengine/core';
import type { CpuKernel, CpuKernelTable } from './kernel-table.js';
import { CPU_KERNELS } from './kernels/index.js';
import { cpuAlloc, cpuBytes, type CpuTensor } from './tensor.js';

/**
 * The reference CPU backend: synchronous kernels over typed arrays, float32 and float64.
 * Clarity first; speed comes from specialised kernels that backend switching can pick.
 */
export class CpuBackend implements Backend<CpuTensor> {
  readonly name = 'cpu';
  private readonly kernels: Partial<CpuKernelTable>;
  private live = 0;
  private peak = 0;

  constructor(kernels: Partial<CpuKernelTable> = CPU_KERNELS) {
    this.kernels = kernels;
  }

  prepare(spec: KernelSpec): BoundKernel<CpuTensor> | undefined {
    const k = this.kernels[spec.op] as CpuKernel<unknown> | undefined;
    if (!k) return undefined;
    const attrs = spec.attrs;
    return (inputs, outputs) => k(inputs, outputs, attrs);
  }

  alloc(t: TypeInfo): CpuTensor {
    const buf = cpuAlloc(t.dtype, t.shape);
    this.live += cpuBytes(buf);
    if (this.live > this.peak) this.peak = this.live;
    return buf;
  }

  free(buf: CpuTensor): void {
    this.live -= cpuBytes(buf);
  }

  write(buf: CpuTensor, t: Tensor): void {
    const src = t.data;
    if (src instanceof BigInt64Array) for (let i = 0; i < src.length; i++) buf.data[i] = Number(src[i]);
    else buf.data.set(src as ArrayLike<number>);
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
