import type { CpuKernelTable } from '../kernel-table.js';

/** (being written) */
export const reduceKernels = {} satisfies Partial<CpuKernelTable>;
