/**
 * WASM-SIMD float32 unary ops over an element range [start, end), one export per op:
 * `exp(x, out, start, end)`, likewise erf, sigmoid, tanh, neg, abs, sqrt, rsqrt, reciprocal.
 *
 * neg, abs, sqrt, rsqrt and reciprocal give exactly the reference kernels' results (the float64
 * value rounded to float32): neg and abs only touch the sign bit; float32 sqrt and division are
 * correctly rounded and rounding their float64 results to float32 again changes nothing (53 >=
 * 2 * 24 + 2 bits: Figueroa, "When is double rounding innocuous?", 1995), so sqrt is f32x4.sqrt
 * and reciprocal 1 / x in f32x4; rsqrt = 1 / sqrt(x) takes two roundings in the reference, so it
 * runs in f64x2 like it and rounds once at the end.
 *
 * exp, erf, sigmoid and tanh round a float64 evaluation to float32 once, so they stay within one ulp
 * of the reference kernels (which compute in float64 and round):
 *
 * exp: x clamped to [-104, 89] (beyond, the float32 result is 0 / +Infinity), n = round(x log2 e),
 * r = x - n ln2 in float64 (|r| <= ln2 / 2 + a little), e^r by its degree-9 Taylor polynomial
 * (truncation error < 2e-11), rounded to float32 and scaled by 2^n as two exact float32 powers of
 * two 2^(n >> 1) 2^(n - (n >> 1)) (so 2^128 overflows and subnormal results round once more).
 *
 * erf: the rational approximation of Eigen / XLA's float32 erf, erf(x) = x P(x^2) / Q(x^2) with
 * x clamped to +-3.832506856900711 (erfinv(1 - 2^-23): outside, erf rounds to +-1), evaluated in
 * float64: its own error is below 1e-7 relative, so the result is within one float32 ulp.
 *
 * sigmoid: 1 / (1 + e^-x) all in float64 (expDouble), -x clamped to [-110, 110], rounded to
 * float32 once.
 *
 * tanh: in float64, 1 - 2 / (e^2x + 1) with 2x clamped to [-40, 40] (beyond, the float32 result
 * is +-1), or for |x| < 1/8 (where that form cancels) x (1 - x^2/3 + 2x^4/15 - 17x^6/315)
 * (truncation error below 3e-9 relative); rounded to float32 once.
 *
 * NaN propagates (the clamps are NaN-propagating min / max, or pseudo-min / max with x first).
 * Elements are read before they are written, so `out` may be `x`. Tails narrower than four lanes run the same vector code on a
 * splat and keep lane 0.
 */
import { F32, I32, Local, ModuleBuilder, V128, type Ex, type Fn } from './wasm-builder.js';
import type { UnaryOp } from './engine.js';
import { sweep } from './wasm-lanes.js';

export const UNARY_EXPORTS = ['exp', 'erf', 'sigmoid', 'tanh', 'neg', 'abs', 'sqrt', 'rsqrt', 'reciprocal'] as const satisfies readonly UnaryOp[];

/** 1 / k! for k = 0..9, highest degree first (Horner). */
const EXP_TAYLOR = Array.from({ length: 10 }, (_, k) => 1 / Array.from({ length: k }, (_, j) => j + 1).reduce((a, b) => a * b, 1)).reverse();
/** Eigen's generic_fast_erf_float: odd numerator x P(x^2), even denominator Q(x^2), highest degree first. */
const ERF_P = [0.00022905065861350646, 0.0034082910107109506, 0.050955695062380861, 0.18520832239976145, 1.128379143519084];
const ERF_Q = [-1.1791602954361697e-7, 0.000023547966471313185, 0.0010179625278914885, 0.014070470171167667, 0.11098505178285362, 0.49746925110067538, 1.0];
const ERF_CLAMP = 3.832506856900711;

/** Horner's rule in f64x2: c[0] t^(k-1) + ... + c[k-1]. */
function horner(f: Fn, t: Ex, c: readonly number[]): Ex {
  let acc: Ex = f.vdsplat(f.f64(c[0]!));
  for (const k of c.slice(1)) acc = f.vdadd(f.vdmul(acc, t), f.vdsplat(f.f64(k)));
  return acc;
}

/** Applies an f64x2 -> f64x2 function to both halves of an f32x4 and packs the float32-rounded results. */
function viaDouble(f: Fn, v: Local, fn: (d: Local) => Ex, d: Local, lo: Local): Ex {
  f.set(d, f.vpromoteLow(v));
  f.set(lo, f.vdemote(fn(d)));
  f.set(d, f.vpromoteLow(f.vshuffle(v, v, [2, 3, 2, 3])));
  return f.vshuffle(lo, f.vdemote(fn(d)), [0, 1, 4, 5]);
}

/** Emits the f32x4 exp of the local v, overwriting v with the result. */
function expVector(f: Fn, v: Local, t: Local[]): void {
  const [n, d, lo, y] = t as [Local, Local, Local, Local];
  f.set(v, f.vmin(f.vmax(v, f.vsplat(f.f32(-104))), f.vsplat(f.f32(89))));
  f.set(n, f.vnearest(f.vmul(v, f.vsplat(f.f32(Math.LOG2E)))));
  // r = x - n ln2 in float64: promote both x and n, the same lanes
  const half = (lanes: [number, number, number, number]) => {
    f.set(d, f.vdsub(f.vpromoteLow(f.vshuffle(v, v, lanes)), f.vdmul(f.vpromoteLow(f.vshuffle(n, n, lanes)), f.vdsplat(f.f64(Math.LN2)))));
    return f.vdemote(horner(f, d, EXP_TAYLOR));
  };
  f.set(lo, half([0, 1, 2, 3]));
  f.set(y, f.vshuffle(lo, half([2, 3, 2, 3]), [0, 1, 4, 5]));
  // 2^n as two float32 powers of two: n1 = n >> 1, n2 = n - n1, each in [-75, 64]
  f.set(n, f.vtruncInts(n));
  f.set(lo, f.vishr(n, 1));
  const pow2 = (e: Ex) => f.vishl(f.viadd(e, f.visplat(127)), 23);
  f.set(v, f.vmul(f.vmul(y, pow2(lo)), pow2(f.visub(n, lo))));
}

/** 1 / k! for k = 0..7, highest degree first: e^r for |r| <= ln2 / 2 to 7.4e-9 relative. */
const EXP_TAYLOR_7 = EXP_TAYLOR.slice(2);
/** 1.5 2^52 + 1023: t log2e + SHIFT rounds t log2e to an integer n held as 2^51 + 1023 + n in the low mantissa bits. */
const SHIFT = 1.5 * 2 ** 52 + 1023;

/**
 * e^t for the f64x2 local t in [-150, 160] or NaN (overwritten), in float64: n = round(t log2 e)
 * by the shifter trick, r = t - n ln2, e^r by its degree-7 Taylor polynomial (|r| <= ln2 / 2:
 * relative error < 7.4e-9, at most an eighth of a float32 ulp), times 2^n built from n's bits (the low
 * bits of the shifted value are 1023 + n, so shifting them into the exponent field gives 2^n
 * exactly). Uses the v128 local k.
 */
export function expDouble(f: Fn, t: Local, k: Local): Ex {
  f.set(k, f.vdadd(f.vdmul(t, f.vdsplat(f.f64(Math.LOG2E))), f.vdsplat(f.f64(SHIFT))));
  f.set(t, f.vdsub(t, f.vdmul(f.vdsub(k, f.vdsplat(f.f64(SHIFT))), f.vdsplat(f.f64(Math.LN2)))));
  return f.vdmul(horner(f, t, EXP_TAYLOR_7), f.vlshl(k, 52));
}

/**
 * Emits the f32x4 sigmoid of the local v, overwriting v: 1 / (1 + e^-x) in float64, rounded once,
 * with -x clamped to [-110, 110] (beyond, the float32 result is 1 / 0 either way) by pseudo-min /
 * max, which keep a NaN x.
 */
function sigmoidVector(f: Fn, v: Local, t: Local[]): void {
  const [d, lo, k] = t as [Local, Local, Local];
  const one = () => f.vdsplat(f.f64(1));
  f.set(v, viaDouble(f, v, (x) => {
    f.set(x, f.vdpmin(f.vdpmax(f.vdsub(f.vdsplat(f.f64(0)), x), f.vdsplat(f.f64(-110))), f.vdsplat(f.f64(110))));
    return f.vddiv(one(), f.vdadd(one(), expDouble(f, x, k)));
  }, d, lo));
}

/** tanh's odd series x (1 - x^2/3 + 2x^4/15 - 17x^6/315) in x^2, highest degree first. */
const TANH_SERIES = [-17 / 315, 2 / 15, -1 / 3, 1];

/** Emits the f32x4 tanh of the local v, overwriting v (see the file comment). */
function tanhVector(f: Fn, v: Local, t: Local[]): void {
  const [d, lo, k, series, small] = t as [Local, Local, Local, Local, Local];
  const c = (x: number) => f.vdsplat(f.f64(x));
  f.set(v, viaDouble(f, v, (x) => {
    f.set(series, f.vdmul(x, horner(f, f.vdmul(x, x), TANH_SERIES)));
    f.set(small, f.vdlt(f.vdabs(x), c(0.125)));
    // pseudo-min / max with x first keep a NaN x
    f.set(x, f.vdpmin(f.vdpmax(f.vdadd(x, x), c(-40)), c(40)));
    const big = f.vdsub(c(1), f.vddiv(c(2), f.vdadd(expDouble(f, x, k), c(1))));
    return f.vbitselect(series, big, small);
  }, d, lo));
}

/** Emits the f32x4 erf of the local v, overwriting v with the result. */
function erfVector(f: Fn, v: Local, t: Local[]): void {
  const [d, lo, x2] = t as [Local, Local, Local];
  f.set(v, f.vmin(f.vmax(v, f.vsplat(f.f32(-ERF_CLAMP))), f.vsplat(f.f32(ERF_CLAMP))));
  f.set(v, viaDouble(f, v, (x) => {
    f.set(x2, f.vdmul(x, x));
    return f.vddiv(f.vdmul(x, horner(f, x2, ERF_P)), horner(f, x2, ERF_Q));
  }, d, lo));
}

/** 1 / sqrt(x) in float64, rounded once (the reference's 1 / Math.sqrt(x)). */
function rsqrtVector(f: Fn, v: Local, t: Local[]): void {
  const [d, lo] = t as [Local, Local];
  f.set(v, viaDouble(f, v, (x) => f.vddiv(f.vdsplat(f.f64(1)), f.vdsqrt(x)), d, lo));
}

/** Emits op(v) into the f32x4 local v, with v128 temporaries t. */
const BODIES: Record<UnaryOp, (f: Fn, v: Local, t: Local[]) => void> = {
  exp: expVector,
  erf: erfVector,
  sigmoid: sigmoidVector,
  tanh: tanhVector,
  neg: (f, v) => f.set(v, f.vneg(v)),
  abs: (f, v) => f.set(v, f.vabs(v)),
  sqrt: (f, v) => f.set(v, f.vsqrt(v)),
  rsqrt: rsqrtVector,
  reciprocal: (f, v) => f.set(v, f.vdiv(f.vsplat(f.f32(1)), v)),
};

function addUnary(mod: ModuleBuilder, name: UnaryOp): void {
  const f = mod.fn(name, [I32, I32, I32, I32]);
  const [x, out, start, end] = f.params as [Local, Local, Local, Local];
  const i = f.local(I32);
  const body = BODIES[name];
  const regs = f.locals(4, V128);
  const temps = regs.map(() => f.locals(5, V128));
  const at = (p: Local) => f.add(p, f.x4(i));
  sweep(f, i, start, end, (w) => {
    if (w === 1) {
      f.set(regs[0]!, f.vsplat(f.fload(at(x))));
      body(f, regs[0]!, temps[0]!);
      return f.fstore(at(out), f.vlane(regs[0]!, 0));
    }
    const k = w / 4;
    for (let r = 0; r < k; r++) f.set(regs[r]!, f.vload(at(x), 16 * r));
    for (let r = 0; r < k; r++) body(f, regs[r]!, temps[r]!);
    for (let r = 0; r < k; r++) f.vstore(at(out), regs[r]!, 16 * r);
  });
}

/** Adds one export per unary op to the module. */
export function addUnaryKernels(mod: ModuleBuilder): void {
  for (const name of UNARY_EXPORTS) addUnary(mod, name);
}

