import type { CpuKernelTable } from '../kernel-table.js';

/** (being written) */
export const matmulKernels = {} satisfies Partial<CpuKernelTable>;
