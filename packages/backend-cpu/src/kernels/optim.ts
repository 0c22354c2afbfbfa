import type { CpuKernelTable } from '../kernel-table.js';

/** (being written) */
export const optimKernels = {} satisfies Partial<CpuKernelTable>;
