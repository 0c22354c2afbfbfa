import type { ForwardCases, GradCases } from '../harness.js';
import { activationForward, activationGrad } from './activation.js';
import { convForward, convGrad } from './conv.js';
import { dropoutForward, dropoutGrad } from './dropout.js';
import { elementwiseForward, elementwiseGrad } from './elementwise.js';
import { lossForward, lossGrad } from './loss.js';
import { matmulForward, matmulGrad } from './matmul.js';
import { normForward, normGrad } from './norm.js';
import { poolForward, poolGrad } from './pool.js';
import { reduceForward, reduceGrad } from './reduce.js';
import { shapeOpsForward, shapeOpsGrad } from './shape-ops.js';

export const ALL_GRAD_CASES: GradCases = {
  ...elementwiseGrad, ...activationGrad, ...matmulGrad, ...convGrad, ...poolGrad, ...normGrad,
  ...reduceGrad, ...shapeOpsGrad, ...lossGrad, ...dropoutGrad,
};
export const ALL_FORWARD_CASES: ForwardCases = {
  ...elementwiseForward, ...activationForward, ...matmulForward, ...convForward, ...poolForward, ...normForward,
  ...reduceForward, ...shapeOpsForward, ...lossForward, ...dropoutForward,
};
