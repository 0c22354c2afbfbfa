import type { CpuKernelTable } from '../kernel-table.js';

/** (being written) */
export const poolKernels = {} satisfies Partial<CpuKernelTable>;
