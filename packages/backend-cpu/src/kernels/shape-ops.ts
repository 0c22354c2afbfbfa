import type { CpuKernelTable } from '../kernel-table.js';

/** (being written) */
export const shapeOpsKernels = {} satisfies Partial<CpuKernelTable>;
