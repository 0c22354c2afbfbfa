/**
 * Fast float32 add / sub / mul / div where one operand repeats along middle axes of the other
 * (wasm-broadcast.ts): the full operand has out's shape, the other one, right-aligned against
 * out, keeps a leading and a trailing run of out's axes and has size 1 in between,
 * [outer, 1, inner] against out's [outer, rep, inner] (bias adds, attention masks, per-row
 * scales, scalars). Other broadcasts stay with the reference kernels.
 */
import { size, type Shape } from '@pockengine/core';
import type { CpuTensor } from '../tensor.js';
import { load, place, store, type ArithmeticOp, type Engine, type VectorOps } from './engine.js';

/** out = full op part (part op full with `partFirst`) seen as [outer, rep, inner] with part [outer, 1, inner]. */
export interface BroadcastForm {
  partFirst: boolean;
  rep: number;
  inner: number;
}

/**
 * [outer, rep, inner] for `part` broadcast to `out` when its axes (right-aligned, size-1 axes of
 * out ignored) are out's, then 1s, then out's again; null for any other layout, and when part
 * has out's size (no repetition).
 */
export function repeatLayout(part: Shape, out: Shape): { outer: number; rep: number; inner: number } | null {
  const lead = out.length - part.length;
  if (lead < 0) return null;
  // 0: leading kept axes, 1: repeated axes, 2: trailing kept axes
  let phase = 0;
  const dims = [1, 1, 1];
  for (let ax = 0; ax < out.length; ax++) {
    const o = out[ax]!;
    const p = ax < lead ? 1 : part[ax - lead]!;
    if (o === 1) continue;
    const kept = p === o;
    if (!kept && p !== 1) return null;
    if (kept && phase === 1) phase = 2;
    else if (!kept && phase === 0) phase = 1;
    else if (!kept && phase === 2) return null;
    dims[phase]! *= o;
  }
  return dims[1] === 1 ? null : { outer: dims[0]!, rep: dims[1]!, inner: dims[2]! };
}

/** The form of a binary op on a and b that broadcast_* handles, or null. */
export function broadcastForm(a: CpuTensor, b: CpuTensor, out: CpuTensor): BroadcastForm | null {
  const n = out.data.length;
  if (n === 0) return null;
  const partFirst = a.data.length !== n;
  const [full, part] = partFirst ? [b, a] : [a, b];
  if (full.data.length !== n) return null;
  const layout = repeatLayout(part.shape, out.shape);
  if (!layout || size(part.shape) !== layout.outer * layout.inner) return null;
  return { partFirst, rep: layout.rep, inner: layout.inner };
}

/** out = a op b for a broadcastForm. */
export function broadcastForward(e: Engine, v: VectorOps, op: ArithmeticOp, a: CpuTensor, b: CpuTensor, out: CpuTensor, form: BroadcastForm): void {
  e.reset();
  const ap = load(e, a);
  const bp = load(e, b);
  const outp = place(e, out);
  const [full, part] = form.partFirst ? [bp, ap] : [ap, bp];
  v.broadcast({ op, a: full, b: part, out: outp, n: out.data.length, rep: form.rep, inner: form.inner, swap: form.partFirst });
  store(e, outp, out);
}
