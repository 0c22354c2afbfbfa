import type { CpuKernelTable } from '../kernel-table.js';

/** (being written) */
export const lossKernels = {} satisfies Partial<CpuKernelTable>;
