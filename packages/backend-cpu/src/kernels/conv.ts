import type { CpuKernelTable } from '../kernel-table.js';

/** (being written) */
export const convKernels = {} satisfies Partial<CpuKernelTable>;
