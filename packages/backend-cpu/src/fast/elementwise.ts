/**
 * Fast float32 elementwise kernels on the engine's vector primitives (wasm-elementwise.ts):
 * where (same-length operands, or a scalar `b`: the masked gradient where(mask, dy, 0)),
 * in_range, and same-shape add / sub / mul / div (broadcasting arithmetic: broadcast.ts).
 */
import type { AttrsOf } from '@pockengine/core';
import type { CpuTensor } from '../tensor.js';
import { load, loadBytes, place, placeBytes, store, storeBytes, type ArithmeticOp, type Engine, type VectorOps } from './engine.js';

/**
 * How where's operands map onto out: each is out-sized, one element (a or b only), or a
 * trailing block repeated over out's leading axes (its shape, leading 1s dropped, is a suffix of
 * out's: a [1, 1, T, T] attention mask over [B, H, T, T]); blocks of several operands must be the
 * same size. `period` is that block's length (out's length when there is none); null when the
 * fast kernel does not apply.
 */
export function whereLayout(cond: CpuTensor, a: CpuTensor, b: CpuTensor, out: CpuTensor): { period: number } | null {
  const n = out.data.length;
  if (cond.dtype !== 'bool') return null;
  let period = n;
  const fits = (t: CpuTensor, scalarOk: boolean): boolean => {
    const len = t.data.length;
    if (len === n) return true;
    if (len === 1 && scalarOk) return true;
    let lead = 0;
    while (lead < t.shape.length && t.shape[lead] === 1) lead++;
    const block = t.shape.slice(lead);
    const suffix = out.shape.slice(out.shape.length - block.length);
    if (len === 0 || block.length === 0 || block.some((d, i) => d !== suffix[i])) return false;
    if (period !== n && period !== len) return false;
    period = len;
    return true;
  };
  return fits(cond, false) && fits(a, true) && fits(b, true) ? { period } : null;
}

/** out = cond ? a : b (see whereLayout): one select, block operands indexed modulo the period. */
export function whereForward(e: Engine, v: VectorOps, cond: CpuTensor, a: CpuTensor, b: CpuTensor, out: CpuTensor, period: number): void {
  const n = out.data.length;
  e.reset();
  const cp = loadBytes(e, cond);
  const ap = load(e, a);
  const bp = load(e, b);
  const op = place(e, out);
  const scalar = (t: CpuTensor) => t.data.length === 1 && n !== 1;
  const block = (t: CpuTensor) => t.data.length !== n && !scalar(t);
  v.select({ cond: cp, a: ap, b: bp, out: op, n, scalarA: scalar(a), scalarB: scalar(b), blocks: { cond: block(cond), a: block(a), b: block(b) }, period });
  store(e, op, out);
}

const F32 = new Float32Array(1);
const F32_BITS = new Int32Array(F32.buffer);

/** The next float32 above the float32 r (r neither NaN nor +Infinity). */
function nextUp(r: number): number {
  if (r === 0) return 2 ** -149;
  F32[0] = r;
  F32_BITS[0]! += r > 0 ? 1 : -1;
  return F32[0]!;
}

/** The least float32 >= v and the greatest float32 <= v (NaN stays NaN). */
const atLeast = (v: number) => (Math.fround(v) < v ? nextUp(Math.fround(v)) : Math.fround(v));
const atMost = (v: number) => -atLeast(-v);

/**
 * y = x in [min, max] (bounds null = unbounded, strict flags exclude them) as bool bytes. The
 * double bounds become float32 ones that give every float32 x the same answer: x >= lo iff
 * x >= atLeast(lo), x > lo iff x > atMost(lo), and mirrored for the upper bound.
 */
export function inRangeForward(e: Engine, v: VectorOps, x: CpuTensor, y: CpuTensor, a: AttrsOf<'in_range'>): void {
  const lo = a.min ?? -Infinity;
  const hi = a.max ?? Infinity;
  const strictLo = a.strictMin;
  const strictHi = a.strictMax ?? false;
  const n = x.data.length;
  e.reset();
  const xp = load(e, x);
  const yp = placeBytes(e, y);
  v.inRange({ x: xp, y: yp, n, lo: strictLo ? atMost(lo) : atLeast(lo), hi: strictHi ? atLeast(hi) : atMost(hi), strictLo, strictHi });
  storeBytes(e, yp, y);
}

/** Same-shape binary arithmetic: operands of out's length (hence out's shape). Broadcasts: broadcast.ts. */
export function binaryIsFast(a: CpuTensor, b: CpuTensor, out: CpuTensor): boolean {
  return a.data.length === out.data.length && b.data.length === out.data.length;
}

/** out = a op b (add, sub, mul, div), same shapes. */
export function binaryForward(e: Engine, v: VectorOps, op: ArithmeticOp, a: CpuTensor, b: CpuTensor, out: CpuTensor): void {
  e.reset();
  const ap = load(e, a);
  const bp = load(e, b);
  const outp = place(e, out);
  v.binary(op, ap, bp, outp, out.data.length);
  store(e, outp, out);
}
