import type { ForwardCases, GradCases } from '../harness.js';

/** (being written) */
export const reduceGrad: GradCases = {};
export const reduceForward: ForwardCases = {};
