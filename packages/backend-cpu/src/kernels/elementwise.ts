import type { CpuKernelTable } from '../kernel-table.js';

/** (being written) */
export const elementwiseKernels = {} satisfies Partial<CpuKernelTable>;
