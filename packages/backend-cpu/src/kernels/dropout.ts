/**
 * Reference dropout kernel. The keep decision comes from core's counter-based `dropoutKeep`
 * (seed, counter, flat element index), so every backend draws the identical mask.
 */
import { dropoutKeep, dropoutScale } from '@pockengine/core';
import type { CpuKernelTable } from '../kernel-table.js';

export const dropoutKernels = {
  dropout: ([x, counter], [y, mask], attrs) => {
    const xs = x!.data;
    const ys = y!.data;
    const ms = mask!.data;
    const step = counter!.data[0]!;
    const keepValue = dropoutScale(attrs.ratio);
    for (let i = 0; i < xs.length; i++) {
      const m = dropoutKeep(attrs.seed, step, i, attrs.ratio) ? keepValue : 0;
      ms[i] = m;
      ys[i] = xs[i]! * m;
    }
  },
} satisfies Partial<CpuKernelTable>;
