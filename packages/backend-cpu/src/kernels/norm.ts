import type { CpuKernelTable } from '../kernel-table.js';

/** (being written) */
export const normKernels = {} satisfies Partial<CpuKernelTable>;
