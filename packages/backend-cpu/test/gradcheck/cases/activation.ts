import type { ForwardCases, GradCases } from '../harness.js';

/** (being written) */
export const activationGrad: GradCases = {};
export const activationForward: ForwardCases = {};
