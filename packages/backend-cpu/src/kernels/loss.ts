/**
 * Reference kernels of softmax cross-entropy (semantics in core/src/ops/loss.ts). The logits are
 * viewed as [rows, C] with one label per row; each row is handled with the max subtracted first
 * (log-sum-exp trick), so large logits neither overflow nor lose the loss.
 */
import { PockError, type AttrsOf } from '@pockengine/core';
import type { CpuKernelTable } from '../kernel-table.js';
import type { CpuData, CpuTensor } from '../tensor.js';

type Attrs = AttrsOf<'softmax_cross_entropy'>;

/** `[i,j,...]` position of flat index `k` in `shape`, for error messages. */
function position(shape: readonly number[], k: number): string {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = k % shape[d]!;
    k = Math.floor(k / shape[d]!);
  }
  return `[${idx.join(',')}]`;
}

/**
 * Validates every label and counts the positions that contribute (label != ignoreIndex).
 * A label outside [0, C) is an input error, never a silently wrong loss.
 */
function countLabels(op: string, labels: CpuTensor, classes: number, attrs: Attrs): number {
  const l = labels.data;
  let count = 0;
  for (let k = 0; k < l.length; k++) {
    const v = l[k]!;
    if (attrs.ignoreIndex !== null && v === attrs.ignoreIndex) continue;
    if (!(v >= 0 && v < classes && Number.isInteger(v)))
      throw new PockError(
        'input',
        `label ${v} at position ${position(labels.shape, k)} of labels ${labels.dtype}[${labels.shape.join(',')}] is out of range [0, ${classes})` +
          (attrs.ignoreIndex === null ? '; set ignoreIndex to skip padding labels' : ` and is not ignoreIndex ${attrs.ignoreIndex}`),
        { op },
      );
    count++;
  }
  return count;
}

/** log(sum(exp(x))) of the row starting at `base`, computed as max + log(sum(exp(x - max))). */
function rowLogSumExp(x: CpuData, base: number, classes: number): number {
  let max = -Infinity;
  for (let c = 0; c < classes; c++) if (x[base + c]! > max) max = x[base + c]!;
  let sum = 0;
  for (let c = 0; c < classes; c++) sum += Math.exp(x[base + c]! - max);
  return max + Math.log(sum);
}

export const lossKernels = {
  softmax_cross_entropy: ([logits, labels], [out], attrs) => {
    const classes = logits!.shape[logits!.shape.length - 1]!;
    const count = countLabels('softmax_cross_entropy', labels!, classes, attrs);
    const x = logits!.data;
    const l = labels!.data;
    let total = 0;
    for (let r = 0; r < l.length; r++) {
      const label = l[r]!;
      if (attrs.ignoreIndex !== null && label === attrs.ignoreIndex) continue;
      const base = r * classes;
      total += rowLogSumExp(x, base, classes) - x[base + label]!;
    }
    // mean over non-ignored positions; all ignored gives 0/0 = NaN, as PyTorch
    out!.data[0] = attrs.reduction === 'mean' ? total / count : total;
  },

  softmax_cross_entropy_grad: ([logits, labels, dloss], [dlogits], attrs) => {
    const classes = logits!.shape[logits!.shape.length - 1]!;
    const count = countLabels('softmax_cross_entropy_grad', labels!, classes, attrs);
    const x = logits!.data;
    const l = labels!.data;
    const dx = dlogits!.data;
    // only contributing rows are written below, so with count 0 the gradient stays 0 (PyTorch)
    const s = attrs.reduction === 'mean' ? dloss!.data[0]! / count : dloss!.data[0]!;
    for (let r = 0; r < l.length; r++) {
      const label = l[r]!;
      const base = r * classes;
      if (attrs.ignoreIndex !== null && label === attrs.ignoreIndex) {
        for (let c = 0; c < classes; c++) dx[base + c] = 0;
        continue;
      }
      // softmax_c = exp(x_c - lse): never overflows since x_c <= max <= lse
      const lse = rowLogSumExp(x, base, classes);
      for (let c = 0; c < classes; c++) dx[base + c] = Math.exp(x[base + c]! - lse) * s;
      dx[base + label] = dx[base + label]! - s;
    }
  },
} satisfies Partial<CpuKernelTable>;
