import type { CpuKernelTable } from '../kernel-table.js';
import { activationKernels } from './activation.js';
import { convKernels } from './conv.js';
import { dropoutKernels } from './dropout.js';
import { elementwiseKernels } from './elementwise.js';
import { lossKernels } from './loss.js';
import { matmulKernels } from './matmul.js';
import { normKernels } from './norm.js';
import { optimKernels } from './optim.js';
import { poolKernels } from './pool.js';
import { reduceKernels } from './reduce.js';
import { shapeOpsKernels } from './shape-ops.js';

/** Every op's reference kernel. The table type makes a missing or misspelled kernel a compile error. */
export const CPU_KERNELS: CpuKernelTable = {
  ...elementwiseKernels,
  ...activationKernels,
  ...matmulKernels,
  ...convKernels,
  ...poolKernels,
  ...normKernels,
  ...reduceKernels,
  ...shapeOpsKernels,
  ...lossKernels,
  ...dropoutKernels,
  ...optimKernels,
};
