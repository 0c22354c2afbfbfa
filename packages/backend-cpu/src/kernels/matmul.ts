/**
 * Batched matmul: C[..., i, j] = sum_p A[..., i, p] B[..., p, j] with optional transposed operands
 * and numpy-broadcast batch axes (as torch.matmul on rank >= 2 operands).
 * Loop order i-p-j: the innermost loop runs along contiguous rows of B and C. A transposed B
 * would make that loop strided, so B is packed (transposed) once up front; a transposed A only
 * changes how the scalar A[i, p] is addressed. Rows accumulate in float64.
 */
import { matmulDims, size, type MatmulAttrs } from '@pockengine/core';
import type { CpuKernelTable } from '../kernel-table.js';
import type { CpuData, CpuTensor } from '../tensor.js';
import { broadcastView, forEachRow } from './broadcast.js';

/** Swaps the last two axes of every [rows, cols] matrix in `data` into a fresh Float64Array. */
function packTransposed(data: CpuData, count: number, rows: number, cols: number): Float64Array {
  const out = new Float64Array(count * rows * cols);
  for (let b = 0; b < count; b++) {
    const base = b * rows * cols;
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < cols; c++) out[base + c * rows + r] = data[base + r * cols + c]!;
  }
  return out;
}

/** For each index of the broadcast batch shape, which matrix of an operand with batch shape `from` it reads. */
function batchIndex(from: readonly number[], batch: readonly number[]): Int32Array {
  const idx = new Int32Array(size(batch));
  forEachRow(batch, [broadcastView(from, batch)], (t, [f], len, [s]) => {
    for (let j = 0; j < len; j++) idx[t + j] = f! + j * s!;
  });
  return idx;
}

export function matmul([a, b]: readonly CpuTensor[], [out]: readonly CpuTensor[], attrs: MatmulAttrs): void {
  const { m, k, n, batch } = matmulDims(a!.shape, b!.shape, attrs);
  const aBatch = a!.shape.slice(0, -2);
  const bBatch = b!.shape.slice(0, -2);
  const ad = a!.data;
  const od = out!.data;
  // B as row-major [k, n] matrices
  const bd = attrs.transB ? packTransposed(b!.data, size(bBatch), n, k) : b!.data;
  const aIdx = batchIndex(aBatch, batch);
  const bIdx = batchIndex(bBatch, batch);
  const acc = new Float64Array(n);
  for (let t = 0; t < aIdx.length; t++) {
    const aOff = aIdx[t]! * m * k;
    const bOff = bIdx[t]! * k * n;
    const oOff = t * m * n;
    for (let i = 0; i < m; i++) {
      acc.fill(0);
      for (let p = 0; p < k; p++) {
        // A[i, p]; stored [k, m] when transposed
        const aip = attrs.transA ? ad[aOff + p * m + i]! : ad[aOff + i * k + p]!;
        const row = bOff + p * n;
        for (let j = 0; j < n; j++) acc[j] += aip * bd[row + j]!;
      }
      const o = oOff + i * n;
      for (let j = 0; j < n; j++) od[o + j] = acc[j]!;
    }
  }
}

export const matmulKernels = {
  matmul,
} satisfies Partial<CpuKernelTable>;
