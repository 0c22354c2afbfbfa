/** Backends the CLI can run on. `cpu` uses the fast kernels where the backend package has them. */
import { CPU_KERNELS, CpuBackend, type CpuKernelTable } from '@pockengine/backend-cpu';
import * as cpu from '@pockengine/backend-cpu';

export type BackendName = 'cpu' | 'cpu-reference';

/** A factory of fresh backends (each program measures its own memory). */
export async function backendFactory(name: BackendName): Promise<() => CpuBackend> {
  const mod = cpu as unknown as { FAST_KERNELS?: Partial<CpuKernelTable>; initFastKernels?: () => Promise<unknown> };
  if (name === 'cpu-reference' || !mod.FAST_KERNELS) return () => new CpuBackend(CPU_KERNELS);
  await mod.initFastKernels?.();
  const kernels = { ...CPU_KERNELS, ...mod.FAST_KERNELS };
  return () => new CpuBackend(kernels);
}

export async function makeBackend(name: BackendName): Promise<CpuBackend> {
  return (await backendFactory(name))();
}
