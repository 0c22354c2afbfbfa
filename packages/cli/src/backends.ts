/**
 * Backends the CLI can run on. `cpu` switches per op instance between the reference JS kernels
 * and the WASM-SIMD ones by measuring them at bind time; `cpu-reference` uses only the former.
 */
import { CPU_KERNELS, CpuBackend, type CpuKernelTable, type HeapAllocator, type KernelImpl } from '@pockengine/backend-cpu';
import * as cpu from '@pockengine/backend-cpu';

export type BackendName = 'cpu' | 'cpu-reference';

/** A factory of fresh backends (each program measures its own memory). */
export async function backendFactory(name: BackendName): Promise<() => CpuBackend> {
  const mod = cpu as unknown as { FAST_KERNELS?: Partial<CpuKernelTable>; initFastKernels?: () => Promise<unknown>; fastHeap?: () => HeapAllocator | undefined };
  if (name === 'cpu-reference' || !mod.FAST_KERNELS) return () => new CpuBackend(CPU_KERNELS);
  await mod.initFastKernels?.();
  const impls: KernelImpl[] = [
    { name: 'js', kernels: CPU_KERNELS },
    { name: 'wasm-simd', kernels: mod.FAST_KERNELS },
  ];
  // buffers in the kernels' heap (when it is shared memory): the fast kernels use them in place
  return () => new CpuBackend(impls, { heap: mod.fastHeap?.() });
}

export async function makeBackend(name: BackendName): Promise<CpuBackend> {
  return (await backendFactory(name))();
}
