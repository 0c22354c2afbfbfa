/**
 * Gradient checks of the activation family. Inputs at kinks (relu at 0, clip bounds, hard
 * sigmoid / hard swish breakpoints) are moved at least `gap` away, since central differences
 * straddling a kink measure the average of two slopes.
 */
import type { ForwardCases, GradCases } from '../harness.js';

/** `n` values scattered over [lo, hi) (golden-ratio sequence), nudged away from every kink. */
export function awayFrom(n: number, lo: number, hi: number, kinks: readonly number[] = [], gap = 0.05): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    let v = lo + (hi - lo) * ((0.31 + i * 0.6180339887) % 1);
    for (const k of kinks) if (Math.abs(v - k) < gap) v = v < k ? k - gap : k + gap;
    out.push(v);
  }
  return out;
}

export const activationGrad: GradCases = {
  relu: [
    { label: '[3,4]', inputs: [{ shape: [3, 4], values: awayFrom(12, -2, 2, [0]) }], attrs: {} },
    { label: 'rank 4', inputs: [{ shape: [2, 2, 2, 3], values: awayFrom(24, -1, 1, [0]) }], attrs: {} },
  ],
  clip: [
    { label: 'relu6 0..6', inputs: [{ shape: [3, 5], values: awayFrom(15, -2, 8, [0, 6]) }], attrs: { min: 0, max: 6 } },
    { label: 'both bounds', inputs: [{ shape: [12], values: awayFrom(12, -1, 1, [-0.5, 0.5]) }], attrs: { min: -0.5, max: 0.5 } },
    { label: 'min only', inputs: [{ shape: [2, 5], values: awayFrom(10, -1, 1, [0.1]) }], attrs: { min: 0.1, max: null } },
    { label: 'max only', inputs: [{ shape: [2, 5], values: awayFrom(10, -1, 1, [-0.2]) }], attrs: { min: null, max: -0.2 } },
    { label: 'no bounds', inputs: [{ shape: [6] }], attrs: { min: null, max: null } },
  ],
  sigmoid: [{ label: '[3,4]', inputs: [{ shape: [3, 4], low: -4, high: 4 }], attrs: {} }],
  tanh: [{ label: '[3,4]', inputs: [{ shape: [3, 4], low: -3, high: 3 }], attrs: {} }],
  gelu: [
    { label: 'erf', inputs: [{ shape: [4, 5], low: -4, high: 4 }], attrs: { approximate: 'none' } },
    { label: 'tanh', inputs: [{ shape: [4, 5], low: -4, high: 4 }], attrs: { approximate: 'tanh' } },
    { label: 'erf tails', inputs: [{ shape: [6], values: [-7, -5.2, -4.3, 4.3, 5.2, 7] }], attrs: { approximate: 'none' } },
  ],
  silu: [{ label: '[3,4]', inputs: [{ shape: [3, 4], low: -6, high: 6 }], attrs: {} }],
  leaky_relu: [
    { label: 'alpha 0.1', inputs: [{ shape: [3, 4], values: awayFrom(12, -2, 2, [0]) }], attrs: { alpha: 0.1 } },
    { label: 'alpha 0.01', inputs: [{ shape: [8], values: awayFrom(8, -1, 1, [0]) }], attrs: { alpha: 0.01 } },
  ],
  softplus: [
    { label: '[3,4]', inputs: [{ shape: [3, 4], low: -5, high: 5 }], attrs: {} },
    { label: 'large |x|', inputs: [{ shape: [4], values: [-40, -25, 25, 40] }], attrs: {} },
  ],
  hard_sigmoid: [
    // linear on (-2.5, 2.5) with alpha 0.2, beta 0.5
    { label: 'onnx default', inputs: [{ shape: [3, 5], values: awayFrom(15, -4, 4, [-2.5, 2.5]) }], attrs: { alpha: 0.2, beta: 0.5 } },
    { label: 'torch 1/6', inputs: [{ shape: [12], values: awayFrom(12, -5, 5, [-3, 3]) }], attrs: { alpha: 1 / 6, beta: 0.5 } },
  ],
  hard_swish: [{ label: '[3,5]', inputs: [{ shape: [3, 5], values: awayFrom(15, -5, 5, [-3, 3]) }], attrs: {} }],
};

export const activationForward: ForwardCases = {};
