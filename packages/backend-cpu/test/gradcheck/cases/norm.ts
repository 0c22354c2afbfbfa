import type { ForwardCases, GradCases } from '../harness.js';

/** (being written) */
export const normGrad: GradCases = {};
export const normForward: ForwardCases = {};
