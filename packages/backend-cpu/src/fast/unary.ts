/**
 * Fast float32 unary ops (wasm-unary.ts): exp, erf, sigmoid and tanh within one float32 ulp of the
 * reference kernels; neg, abs, sqrt, rsqrt and reciprocal identical to them.
 */
import type { CpuTensor } from '../tensor.js';
import { load, place, store, type Engine, type UnaryOp, type VectorOps } from './engine.js';

/** out = op(x), same shape (out may be x). */
export function unaryForward(e: Engine, v: VectorOps, op: UnaryOp, x: CpuTensor, out: CpuTensor): void {
  e.reset();
  const xp = load(e, x);
  const outp = place(e, out);
  v.unary(op, xp, outp, out.data.length);
  store(e, outp, out);
}
