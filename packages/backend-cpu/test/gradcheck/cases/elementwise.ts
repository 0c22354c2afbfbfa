import type { ForwardCases, GradCases } from '../harness.js';

/** (being written) */
export const elementwiseGrad: GradCases = {};
export const elementwiseForward: ForwardCases = {};
