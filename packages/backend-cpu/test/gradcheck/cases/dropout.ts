import type { ForwardCases, GradCases } from '../harness.js';

/** (being written) */
export const dropoutGrad: GradCases = {};
export const dropoutForward: ForwardCases = {};
