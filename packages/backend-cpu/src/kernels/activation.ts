import type { CpuKernelTable } from '../kernel-table.js';

/** (being written) */
export const activationKernels = {} satisfies Partial<CpuKernelTable>;
