export { CpuBackend } from './backend.js';
export { CPU_KERNELS } from './kernels/index.js';
export type { CpuKernel, CpuKernelTable } from './kernel-table.js';
export { cpuAlloc, type CpuTensor, type CpuData } from './tensor.js';
