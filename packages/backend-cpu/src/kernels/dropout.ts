import type { CpuKernelTable } from '../kernel-table.js';

/** (being written) */
export const dropoutKernels = {} satisfies Partial<CpuKernelTable>;
