/** Matmul gradient cases: every transpose combination, plain and with broadcast batch axes. */
import type { ForwardCases, GradCase, GradCases } from '../harness.js';

/** Operand shape for an [r, c] matrix, stored transposed when `t`, behind `batch` axes. */
const operand = (batch: number[], r: number, c: number, t: boolean) => [...batch, ...(t ? [c, r] : [r, c])];

function cases(label: string, batchA: number[], batchB: number[]): GradCase<'matmul'>[] {
  const out: GradCase<'matmul'>[] = [];
  for (const transA of [false, true])
    for (const transB of [false, true])
      out.push({
        label: `${label} transA=${transA} transB=${transB}`,
        // A is [m=3, k=4], B is [k=4, n=5] before transposition
        inputs: [{ shape: operand(batchA, 3, 4, transA) }, { shape: operand(batchB, 4, 5, transB) }],
        attrs: { transA, transB },
      });
  return out;
}

export const matmulGrad: GradCases = {
  matmul: [
    ...cases('2-D', [], []),
    ...cases('batched A, shared B', [2], []),
    ...cases('batch broadcast both ways', [2, 1], [3]),
  ],
};

export const matmulForward: ForwardCases = {};
