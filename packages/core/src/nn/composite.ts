/**
 * Elementwise functions with no op of their own, composed of core ops for frontends (ONNX Tan /
 * Sinh / ... / IsNaN, TF's of the same names): their gradients are the composed ops' rules.
 */
import type { GraphBuilder } from '../ir/builder.js';
import type { ValueId } from '../ir/graph.js';

const exp = (b: GraphBuilder, x: ValueId) => b.op1('exp', [x], {});
const log = (b: GraphBuilder, x: ValueId) => b.op1('log', [x], {});
/** log(x + sqrt(x^2 + c)): asinh (c = 1, x >= 0) and acosh (c = -1). */
const logHyp = (b: GraphBuilder, x: ValueId, c: number) => log(b, b.add(x, b.op1('sqrt', [b.add(b.mul(x, x), b.scalarLike(c, x))], {})));

/** sin / cos. */
export const tan = (b: GraphBuilder, x: ValueId): ValueId => b.div(b.op1('sin', [x], {}), b.op1('cos', [x], {}));
/** (e^x - e^-x) / 2. */
export const sinh = (b: GraphBuilder, x: ValueId): ValueId => b.mulScalar(b.sub(exp(b, x), exp(b, b.neg(x))), 0.5);
/** (e^x + e^-x) / 2. */
export const cosh = (b: GraphBuilder, x: ValueId): ValueId => b.mulScalar(b.add(exp(b, x), exp(b, b.neg(x))), 0.5);
/** Odd: -asinh(-x) for x < 0 keeps log's argument away from cancellation. */
export const asinh = (b: GraphBuilder, x: ValueId): ValueId =>
  b.where(b.op1('less', [x, b.scalarLike(0, x)], {}), b.neg(logHyp(b, b.neg(x), 1)), logHyp(b, x, 1));
/** log(x + sqrt(x^2 - 1)) (NaN below 1). */
export const acosh = (b: GraphBuilder, x: ValueId): ValueId => logHyp(b, x, -1);
/** log((1 + x) / (1 - x)) / 2. */
export const atanh = (b: GraphBuilder, x: ValueId): ValueId =>
  b.mulScalar(log(b, b.div(b.add(b.scalarLike(1, x), x), b.sub(b.scalarLike(1, x), x))), 0.5);
/** x != x (bool, no gradient). */
export const isNan = (b: GraphBuilder, x: ValueId): ValueId => b.op1('logical_not', [b.op1('equal', [x, x], {})], {});
