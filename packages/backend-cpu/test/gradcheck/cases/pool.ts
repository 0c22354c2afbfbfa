import type { ForwardCases, GradCases } from '../harness.js';

/** (being written) */
export const poolGrad: GradCases = {};
export const poolForward: ForwardCases = {};
