import type { ForwardCases, GradCases } from '../harness.js';

/** (being written) */
export const lossGrad: GradCases = {};
export const lossForward: ForwardCases = {};
