/**
 * Optimizer updates, element by element, following PyTorch's single-tensor (for-loop)
 * implementations of torch.optim.SGD and torch.optim.Adam / AdamW (amsgrad = False,
 * maximize = False) operation for operation, so results match PyTorch's up to rounding.
 * lr and step are scalar inputs; step is 1 on the first step.
 */
import type { AdamAttrs, MatmulAttrs, SgdAttrs } from '@pockengine/core';
import type { CpuKernelTable } from '../kernel-table.js';
import { cpuAlloc, type CpuTensor } from '../tensor.js';
import { matmul } from './matmul.js';

const scalar = (t: CpuTensor | undefined): number => t!.data[0]!;

/**
 * Index of element i of the gradient / state in the parameter: identity for full updates,
 * row-mapped for channel-sparse ones. Rows not selected keep the parameter's values (copied
 * when the update does not run in place).
 */
function paramIndex(p: CpuTensor, pOut: CpuTensor, rows: readonly number[] | null): (i: number) => number {
  if (!rows) return (i) => i;
  if (pOut.data !== p.data) pOut.data.set(p.data);
  const per = p.data.length / p.shape[0]!;
  return (i) => rows[(i / per) | 0]! * per + (i % per);
}

/**
 * torch.optim.SGD:
 *   g = g + wd * p
 *   buf = g                                      on the first step (buffer created from g)
 *   buf = momentum * buf + (1 - dampening) * g   afterwards
 *   g = g + momentum * buf  (nesterov)  or  g = buf
 *   p = p - lr * g
 * inputs: param, grad, lr, step, [velocity]; outputs: param, [velocity].
 */
function sgdUpdate(inputs: readonly CpuTensor[], outputs: readonly CpuTensor[], a: SgdAttrs): void {
  const [p, g, lrT, stepT, vel] = inputs;
  const [pOut, velOut] = outputs;
  const lr = scalar(lrT);
  const first = scalar(stepT) === 1;
  const pd = p!.data;
  const gd = g!.data;
  const po = pOut!.data;
  const useMomentum = a.momentum !== 0;
  const at = paramIndex(p!, pOut!, a.rows);
  for (let i = 0; i < gd.length; i++) {
    const k = at(i);
    const pi = pd[k]!;
    let d = gd[i]!;
    if (a.weightDecay !== 0) d += a.weightDecay * pi;
    if (useMomentum) {
      const buf = first ? d : a.momentum * vel!.data[i]! + (1 - a.dampening) * d;
      velOut!.data[i] = buf;
      d = a.nesterov ? d + a.momentum * buf : buf;
    }
    po[k] = pi - lr * d;
  }
}

/**
 * torch.optim.Adam (decoupled = false) and AdamW (decoupled = true):
 *   AdamW: p = p * (1 - lr * wd);   Adam: g = g + wd * p
 *   m = beta1 * m + (1 - beta1) * g
 *   v = beta2 * v + (1 - beta2) * g^2
 *   p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 * inputs: param, grad, lr, step, m, v; outputs: param, m, v.
 */
function adamUpdate(inputs: readonly CpuTensor[], outputs: readonly CpuTensor[], a: AdamAttrs): void {
  const [p, g, lrT, stepT, mT, vT] = inputs;
  const [pOut, mOut, vOut] = outputs;
  const lr = scalar(lrT);
  const t = scalar(stepT);
  const stepSize = lr / (1 - a.beta1 ** t);
  const bc2Sqrt = Math.sqrt(1 - a.beta2 ** t);
  const decay = a.decoupled ? 1 - lr * a.weightDecay : 1;
  const pd = p!.data;
  const gd = g!.data;
  const md = mT!.data;
  const vd = vT!.data;
  const po = pOut!.data;
  const mo = mOut!.data;
  const vo = vOut!.data;
  const at = paramIndex(p!, pOut!, a.rows);
  for (let i = 0; i < gd.length; i++) {
    const k = at(i);
    const pi = pd[k]! * decay;
    let gi = gd[i]!;
    if (!a.decoupled && a.weightDecay !== 0) gi += a.weightDecay * pd[k]!;
    const m = a.beta1 * md[i]! + (1 - a.beta1) * gi;
    const v = a.beta2 * vd[i]! + (1 - a.beta2) * gi * gi;
    mo[i] = m;
    vo[i] = v;
    po[k] = pi - (stepSize * m) / (Math.sqrt(v) / bc2Sqrt + a.epsilon);
  }
}

/**
 * p = p - lr * op(a) op(b): the matmul then the SGD step, exactly as the unfused pair computes
 * them (the gradient rounded to the parameter's dtype first). inputs: param, a, b, lr, step.
 */
function matmulSgdUpdate(inputs: readonly CpuTensor[], [pOut]: readonly CpuTensor[], attrs: MatmulAttrs): void {
  const [p, a, b, lrT] = inputs;
  const g = cpuAlloc(p!.dtype, p!.shape);
  matmul([a!, b!], [g], attrs);
  const lr = scalar(lrT);
  const pd = p!.data;
  const gd = g.data;
  const po = pOut!.data;
  for (let i = 0; i < gd.length; i++) po[i] = pd[i]! - lr * gd[i]!;
}

export const optimKernels = {
  sgd_update: sgdUpdate,
  matmul_sgd_update: matmulSgdUpdate,
  adam_update: adamUpdate,
} satisfies Partial<CpuKernelTable>;
