/**
 * Reference kernels of the activation family (formulas and sources in core/src/ops/activation.ts).
 * Every kernel loops over the flat element range; typed-array reads and writes make the same
 * code serve float32 and float64.
 */
import type { CpuKernel, CpuKernelTable } from '../kernel-table.js';
import type { CpuTensor } from '../tensor.js';
import { binaryLoops, unaryLoop } from './loops.js';

type Unary = (x: number) => number;
type Binary = (x: number, dy: number) => number;

function unary<A>(f: (attrs: A) => Unary): CpuKernel<A> {
  const loop = unaryLoop(); // this kernel's own loop: its call site stays monomorphic (loops.ts)
  return (inputs: readonly CpuTensor[], outputs: readonly CpuTensor[], attrs: A) => {
    const y = outputs[0]!.data;
    loop(inputs[0]!.data, y, y.length, f(attrs));
  };
}

/** Backward kernels: (saved value, cotangent) of one shape -> input cotangent. */
function binary<A>(f: (attrs: A) => Binary): CpuKernel<A> {
  const loops = binaryLoops();
  return (inputs: readonly CpuTensor[], outputs: readonly CpuTensor[], attrs: A) => {
    const dx = outputs[0]!.data;
    loops.same(inputs[0]!.data, inputs[1]!.data, dx, dx.length, f(attrs));
  };
}

/** Logistic function without overflow: exp is only taken of a non-positive number. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/**
 * Error function to about 1e-15 relative accuracy (JavaScript has no Math.erf).
 * |x| < 3: erf(x) = 2/sqrt(pi) exp(-x^2) sum_n 2^n x^(2n+1) / (1*3*...*(2n+1)) (Abramowitz &
 * Stegun 7.1.6), a series of positive terms, so no cancellation. |x| >= 3: erf = 1 - erfc with
 * erfc's continued fraction (A&S 7.1.14) evaluated by the modified Lentz method.
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return x;
  const ax = Math.abs(x);
  let r: number;
  if (ax < 3) {
    let term = ax;
    let sum = ax;
    const x2 = ax * ax;
    for (let n = 1; n < 200 && term > sum * 1e-17; n++) {
      term *= (2 * x2) / (2 * n + 1);
      sum += term;
    }
    r = TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
  } else if (ax > 6.5) {
    r = 1; // erfc(6.5) < 4e-20: below float64 resolution at 1
  } else {
    // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...)))))
    const tiny = 1e-300;
    let f = ax;
    let c = ax;
    let d = 0;
    for (let k = 1; k < 300; k++) {
      const a = k / 2;
      d = ax + a * d;
      d = Math.abs(d) < tiny ? tiny : d;
      c = ax + a / c;
      c = Math.abs(c) < tiny ? tiny : c;
      d = 1 / d;
      const delta = c * d;
      f *= delta;
      if (Math.abs(delta - 1) < 1e-16) break;
    }
    r = 1 - Math.exp(-ax * ax) / (Math.sqrt(Math.PI) * f);
  }
  return x < 0 ? -r : r;
}

const SQRT1_2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const GELU_C = 0.044715;

/** Standard normal CDF Phi(x). */
const phiCdf = (x: number) => 0.5 * (1 + erf(x * SQRT1_2));

export function gelu(x: number, approximate: 'none' | 'tanh'): number {
  if (approximate === 'tanh') return 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + GELU_C * x * x * x)));
  return x * phiCdf(x);
}

/** d gelu / dx: Phi(x) + x phi(x) (erf form); chain rule through tanh (tanh form, as PyTorch). */
export function geluDerivative(x: number, approximate: 'none' | 'tanh'): number {
  if (approximate === 'tanh') {
    const t = Math.tanh(SQRT_2_OVER_PI * (x + GELU_C * x * x * x));
    const dInner = SQRT_2_OVER_PI * (1 + 3 * GELU_C * x * x);
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * dInner;
  }
  return phiCdf(x) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
}

/** Clamp that propagates NaN and yields `max` when min > max (ONNX Clip, torch.clamp). */
function clamp(lo: number, hi: number): Unary {
  return (v) => {
    const t = v < lo ? lo : v;
    return t > hi ? hi : t;
  };
}

const bound = (v: number | null, fallback: number) => (v === null ? fallback : v);

export const activationKernels = {
  // `v < 0 ? 0 : v` keeps NaN as NaN (PyTorch relu propagates NaN)
  relu: unary(() => (v) => (v < 0 ? 0 : v)),
  relu_grad: binary(() => (y, dy) => (y > 0 ? dy : 0)),

  clip: unary((a) => clamp(bound(a.min, -Infinity), bound(a.max, Infinity))),
  clip_grad: binary((a) => {
    const lo = bound(a.min, -Infinity);
    const hi = bound(a.max, Infinity);
    return (x, dy) => (x >= lo && x <= hi ? dy : 0);
  }),

  sigmoid: unary(() => sigmoid),
  tanh: unary(() => Math.tanh),

  gelu: unary((a) => (x) => gelu(x, a.approximate)),
  gelu_grad: binary((a) => (x, dy) => dy * geluDerivative(x, a.approximate)),

  silu: unary(() => (x) => x * sigmoid(x)),
  silu_grad: binary(() => (x, dy) => {
    const s = sigmoid(x);
    return dy * s * (1 + x * (1 - s));
  }),

  leaky_relu: unary((a) => (x) => (x >= 0 ? x : a.alpha * x)),
  // max(x, 0) + log1p(exp(-|x|)): exact for every x, no overflow
  softplus: unary(() => (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)))),
  hard_sigmoid: unary((a) => {
    const c = clamp(0, 1);
    return (x) => c(a.alpha * x + a.beta);
  }),
  hard_swish: unary(() => {
    const relu6 = clamp(0, 6);
    return (x) => (x * relu6(x + 3)) / 6;
  }),
} satisfies Partial<CpuKernelTable>;
