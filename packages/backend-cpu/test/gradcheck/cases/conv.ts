import type { ForwardCases, GradCases } from '../harness.js';

/** (being written) */
export const convGrad: GradCases = {};
export const convForward: ForwardCases = {};
