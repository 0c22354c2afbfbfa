/**
 * Fast float32 sgd_update (torch.optim.SGD, see kernels/optim.ts) on the engine's vector
 * primitives. A channel-sparse update (`rows`) runs the kernel once per run of consecutive
 * selected rows; the whole parameter goes through the heap, so unselected rows come back as they were.
 */
import type { SgdAttrs } from '@pockengine/core';
import type { CpuTensor } from '../tensor.js';
import { load, loadInto, store, type Engine, type VectorOps } from './engine.js';

/** inputs param, grad, lr, step, [velocity]; outputs param, [velocity]. */
export function sgdUpdate(e: Engine, v: VectorOps, inputs: readonly CpuTensor[], outputs: readonly CpuTensor[], a: SgdAttrs): void {
  const [p, g, lr, step, vel] = inputs as [CpuTensor, CpuTensor, CpuTensor, CpuTensor, CpuTensor | undefined];
  const [pOut, velOut] = outputs;
  e.reset();
  const pp = loadInto(e, p, pOut!);
  const gp = load(e, g);
  const vp = vel ? loadInto(e, vel, velOut!) : 0;
  const call = {
    lr: lr.data[0]!,
    momentum: a.momentum,
    dampening: a.dampening,
    weightDecay: a.weightDecay,
    nesterov: a.nesterov,
    first: step.data[0] === 1,
  };
  if (!a.rows) v.sgd({ ...call, param: pp, grad: gp, velocity: vp, n: g.data.length });
  else {
    const per = p.shape[0] ? p.data.length / p.shape[0] : 0;
    const rows = a.rows;
    for (let i = 0; i < rows.length; ) {
      let j = i + 1;
      while (j < rows.length && rows[j] === rows[j - 1]! + 1) j++;
      v.sgd({ ...call, param: pp + rows[i]! * per, grad: gp + i * per, velocity: vp + i * per, n: (j - i) * per });
      i = j;
    }
  }
  store(e, pp, pOut!);
  if (vel) store(e, vp, velOut!);
}
