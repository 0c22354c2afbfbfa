/**
 * Elementwise kernels with numpy broadcasting. Same-shape and scalar operands take direct loops;
 * other broadcasts walk the output row by row with per-operand strides (broadcast.ts).
 * Values are computed in JS numbers (float64) and rounded once when stored, so one kernel
 * serves float32, float64 and the integer dtypes.
 */
import { PockError, isFloat, roundHalfEven, type AttrsOf } from '@pockengine/core';
import type { CpuKernel, CpuKernelTable } from '../kernel-table.js';
import type { CpuTensor } from '../tensor.js';
import { broadcastView, forEachRow } from './broadcast.js';
import { binaryLoops, unaryLoop, type BinaryLoops, type UnaryLoop } from './loops.js';

type NoAttrs = AttrsOf<'add'>;
type Binary = (x: number, y: number) => number;
type Unary = (x: number) => number;

/** out = fn(a, b) with a and b broadcast to out's shape (`loops`: this kernel's own copies, see loops.ts). */
export function mapBinary(a: CpuTensor, b: CpuTensor, out: CpuTensor, fn: Binary, loops: BinaryLoops = binaryLoops()): void {
  const ad = a.data;
  const bd = b.data;
  const od = out.data;
  const n = od.length;
  // An operand that broadcasts to out with out's element count has out's layout.
  if (ad.length === n && bd.length === n) loops.same(ad, bd, od, n, fn);
  else if (ad.length === n && bd.length === 1) loops.scalarRight(ad, bd, od, n, fn);
  else if (ad.length === 1 && bd.length === n) loops.scalarLeft(ad, bd, od, n, fn);
  else {
    const views = [broadcastView(a.shape, out.shape), broadcastView(b.shape, out.shape)];
    forEachRow(out.shape, views, (o, [ia, ib], len, [sa, sb]) => {
      for (let j = 0; j < len; j++) od[o + j] = fn(ad[ia! + j * sa!]!, bd[ib! + j * sb!]!);
    });
  }
}

/** out = fn(x), same shape. */
export function mapUnary(x: CpuTensor, out: CpuTensor, fn: Unary, loop: UnaryLoop = unaryLoop()): void {
  loop(x.data, out.data, out.data.length, fn);
}

/**
 * erf in double precision from the everywhere-convergent series of positive terms
 * erf(x) = 2/sqrt(pi) * exp(-x^2) * sum_n 2^n x^(2n+1) / (1*3*...*(2n+1))
 * (Abramowitz & Stegun 7.1.6): no cancellation, so it is accurate to a few ulp. For |x| >= 6,
 * 1 - |erf(x)| < 1e-17 and the result is +-1.
 */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax >= 6) return Math.sign(x);
  const x2 = ax * ax;
  let term = ax;
  let sum = ax;
  for (let n = 0; term > sum * 1e-17; n++) {
    term *= (2 * x2) / (2 * n + 3);
    sum += term;
  }
  const r = (2 / Math.sqrt(Math.PI)) * Math.exp(-x2) * sum;
  return x < 0 ? -r : r;
}

const binary = (fn: Binary): CpuKernel<NoAttrs> => {
  const loops = binaryLoops();
  return ([a, b], [out]) => mapBinary(a!, b!, out!, fn, loops);
};
const unary = (fn: Unary): CpuKernel<NoAttrs> => {
  const loop = unaryLoop();
  return ([x], [out]) => mapUnary(x!, out!, fn, loop);
};

const integerDivide: Binary = (x, y) => {
  if (y === 0) throw new PockError('input', 'integer division by zero; cast to float first', { op: 'div' });
  return Math.trunc(x / y);
};

/** Cast: float -> integer truncates toward zero (as C / torch .to(int)); -> bool is x != 0. */
function castKernel([x]: readonly CpuTensor[], [out]: readonly CpuTensor[]): void {
  const xd = x!.data;
  const od = out!.data;
  const n = od.length;
  if (out!.dtype === 'bool') {
    // NaN != 0, so NaN casts to true (as torch)
    for (let i = 0; i < n; i++) od[i] = xd[i] !== 0 ? 1 : 0;
  } else if (isFloat(x!.dtype) && !isFloat(out!.dtype)) {
    // typed-array stores would truncate too, except into int64's Float64Array; NaN has no integer value: 0
    for (let i = 0; i < n; i++) {
      const v = xd[i]!;
      od[i] = v === v ? Math.trunc(v) : 0;
    }
  } else {
    od.set(xd);
  }
}

export const elementwiseKernels = {
  add: binary((x, y) => x + y),
  sub: binary((x, y) => x - y),
  mul: ([a, b], [out]) => mapBinary(a!, b!, out!, out!.dtype === 'int32' ? Math.imul : (x, y) => x * y),
  // integer division truncates toward zero (torch.div rounding_mode='trunc', ONNX Div on integers)
  div: ([a, b], [out]) => mapBinary(a!, b!, out!, isFloat(out!.dtype) ? (x, y) => x / y : integerDivide),
  pow: binary(Math.pow),
  // Math.max / Math.min propagate NaN, as torch.maximum / torch.minimum
  maximum: binary(Math.max),
  minimum: binary(Math.min),

  equal: binary((x, y) => (x === y ? 1 : 0)),
  less: binary((x, y) => (x < y ? 1 : 0)),
  less_equal: binary((x, y) => (x <= y ? 1 : 0)),
  greater: binary((x, y) => (x > y ? 1 : 0)),
  greater_equal: binary((x, y) => (x >= y ? 1 : 0)),
  logical_and: binary((x, y) => (x !== 0 && y !== 0 ? 1 : 0)),
  logical_or: binary((x, y) => (x !== 0 || y !== 0 ? 1 : 0)),
  logical_not: unary((x) => (x === 0 ? 1 : 0)),

  where: ([c, a, b], [out]) => {
    const cd = c!.data;
    const ad = a!.data;
    const bd = b!.data;
    const od = out!.data;
    const n = od.length;
    if (cd.length === n && ad.length === n && bd.length === n) {
      for (let i = 0; i < n; i++) od[i] = cd[i] ? ad[i]! : bd[i]!;
      return;
    }
    if (cd.length === n && ad.length === n && bd.length === 1) {
      // the masked gradient of relu / clip: where(mask, dy, 0)
      const y = bd[0]!;
      for (let i = 0; i < n; i++) od[i] = cd[i] ? ad[i]! : y;
      return;
    }
    const views = [c!, a!, b!].map((t) => broadcastView(t.shape, out!.shape));
    forEachRow(out!.shape, views, (o, [ic, ia, ib], len, [sc, sa, sb]) => {
      for (let j = 0; j < len; j++) od[o + j] = cd[ic! + j * sc!] ? ad[ia! + j * sa!]! : bd[ib! + j * sb!]!;
    });
  },

  neg: unary((x) => -x),
  abs: unary(Math.abs),
  sign: unary(Math.sign),
  floor: unary(Math.floor),
  ceil: unary(Math.ceil),
  round: unary(roundHalfEven),
  exp: unary(Math.exp),
  log: unary(Math.log),
  sqrt: unary(Math.sqrt),
  rsqrt: unary((x) => 1 / Math.sqrt(x)),
  reciprocal: unary((x) => 1 / x),
  sin: unary(Math.sin),
  cos: unary(Math.cos),
  asin: unary(Math.asin),
  acos: unary(Math.acos),
  atan: unary(Math.atan),
  erf: unary(erf),

  cast: castKernel,
  stop_gradient: ([x], [y]) => y!.data.set(x!.data),
  in_range: ([x], [y], a) => {
    const xd = x!.data;
    const yd = y!.data;
    const lo = a.min ?? -Infinity;
    const hi = a.max ?? Infinity;
    // branch-free: activation signs are data-dependent and mispredict
    if (a.strictMin && a.strictMax) for (let i = 0; i < yd.length; i++) yd[i] = +(xd[i]! > lo) & +(xd[i]! < hi);
    else if (a.strictMin) for (let i = 0; i < yd.length; i++) yd[i] = +(xd[i]! > lo) & +(xd[i]! <= hi);
    else if (a.strictMax) for (let i = 0; i < yd.length; i++) yd[i] = +(xd[i]! >= lo) & +(xd[i]! < hi);
    else for (let i = 0; i < yd.length; i++) yd[i] = +(xd[i]! >= lo) & +(xd[i]! <= hi);
  },
} satisfies Partial<CpuKernelTable>;
