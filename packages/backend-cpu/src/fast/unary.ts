/** Fast float32 exp, erf and sigmoid (wasm-unary.ts): within one float32 ulp of the reference kernels. */
import type { CpuTensor } from '../tensor.js';
import { load, place, store, type Engine, type VectorOps } from './engine.js';

/** out = exp(x), erf(x) or sigmoid(x), same shape (out may be x). */
export function unaryForward(e: Engine, v: VectorOps, op: 'exp' | 'erf' | 'sigmoid', x: CpuTensor, out: CpuTensor): void {
  e.reset();
  const xp = load(e, x);
  const outp = place(e, out);
  v.unary(op, xp, outp, out.data.length);
  store(e, outp, out);
}
