/**
 * Optimizer update ops. They live in the graph so that the whole training step is one static
 * program; their outputs replace the parameter and its state in place at the end of the step.
 * Semantics follow torch.optim.SGD / Adam / AdamW exactly (including SGD's first-step momentum
 * buffer = gradient), so updates can be checked against PyTorch by hand.
 */
import { PockError } from '../errors.js';
import { fmtShape, shapeEq } from '../shape.js';
import { requireFloat } from './checks.js';
import { elementwiseCost } from './cost.js';
import { defineOp, type OpDef } from './op-def.js';

/**
 * Channel-sparse updates: when `rows` is set, the gradient (and the optimizer state) hold only
 * those rows of dim 0 of the parameter, in that order; the other rows are left unchanged.
 */
type Rows = { rows: readonly number[] | null };

export interface SgdAttrs extends Record<string, number | boolean | readonly number[] | null>, Rows {
  momentum: number;
  dampening: number;
  nesterov: boolean;
  weightDecay: number;
}

export interface AdamAttrs extends Record<string, number | boolean | readonly number[] | null>, Rows {
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
  /** AdamW: decay the weights directly instead of adding wd*p to the gradient. */
  decoupled: boolean;
}

/** The shape of the gradient / state of a parameter of shape `p` under a row selection. */
export function updatedShape(p: readonly number[], rows: readonly number[] | null): number[] {
  return rows ? [rows.length, ...p.slice(1)] : [...p];
}

function checkRows(p: readonly number[], rows: readonly number[] | null, where: Parameters<typeof requireFloat>[2]) {
  if (!rows) return;
  if (p.length === 0 || rows.some((r, i) => !Number.isInteger(r) || r < 0 || r >= p[0]! || (i > 0 && r <= rows[i - 1]!)))
    throw new PockError('attr', `rows must be increasing indices into dim 0 (size ${p[0]}) of the parameter`, where);
}

function checkSame(shapes: readonly (readonly number[])[], where: Parameters<typeof requireFloat>[2]) {
  for (const s of shapes)
    if (!shapeEq(s, shapes[0]!))
      throw new PockError('shape', `optimizer operands differ in shape: ${shapes.map(fmtShape).join(', ')}`, where);
}

export interface OptimOpsAttrs {
  sgd_update: SgdAttrs;
  adam_update: AdamAttrs;
}

export const optimOps: { [K in keyof OptimOpsAttrs]: OpDef<OptimOpsAttrs[K]> } = {
  /**
   * inputs: param, grad, lr (scalar), step (scalar, 1 on the first step), [velocity]
   * outputs: new param, [new velocity]  (velocity iff momentum != 0)
   */
  sgd_update: defineOp<SgdAttrs>({
    name: 'sgd_update',
    arity: [4, 5],
    outputs: (a) => (a.momentum !== 0 ? 2 : 1),
    infer: (inputs, a, where) => {
      const [p, g] = inputs;
      requireFloat(p!, 'parameter', where);
      const hasV = a.momentum !== 0;
      if (hasV !== (inputs.length === 5))
        throw new PockError('attr', `sgd_update with momentum=${a.momentum} takes ${hasV ? 5 : 4} inputs`, where);
      checkRows(p!.shape, a.rows, where);
      checkSame([updatedShape(p!.shape, a.rows), ...inputs.filter((_, i) => i === 1 || i === 4).map((t) => t.shape)], where);
      if (a.nesterov && (a.momentum <= 0 || a.dampening !== 0))
        throw new PockError('attr', 'nesterov momentum requires momentum > 0 and dampening = 0', where);
      const out = [{ dtype: p!.dtype, shape: p!.shape }];
      if (hasV) out.push({ dtype: g!.dtype, shape: g!.shape });
      return out;
    },
    nondiff: 'optimizer',
    cost: elementwiseCost(4),
  }),

  /**
   * inputs: param, grad, lr (scalar), step (scalar, 1 on the first step), m, v
   * outputs: new param, new m, new v
   */
  adam_update: defineOp<AdamAttrs>({
    name: 'adam_update',
    arity: [6, 6],
    outputs: () => 3,
    infer: (inputs, a, where) => {
      const [p, , , , m, v] = inputs;
      requireFloat(p!, 'parameter', where);
      checkRows(p!.shape, a.rows, where);
      checkSame([updatedShape(p!.shape, a.rows), inputs[1]!.shape, m!.shape, v!.shape], where);
      return [
        { dtype: p!.dtype, shape: p!.shape },
        { dtype: m!.dtype, shape: m!.shape },
        { dtype: v!.dtype, shape: v!.shape },
      ];
    },
    nondiff: 'optimizer',
    cost: elementwiseCost(12),
  }),
};
