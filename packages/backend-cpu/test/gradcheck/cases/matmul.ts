import type { ForwardCases, GradCases } from '../harness.js';

/** (being written) */
export const matmulGrad: GradCases = {};
export const matmulForward: ForwardCases = {};
