import type { ForwardCases, GradCases } from '../harness.js';

/** (being written) */
export const shapeOpsGrad: GradCases = {};
export const shapeOpsForward: ForwardCases = {};
