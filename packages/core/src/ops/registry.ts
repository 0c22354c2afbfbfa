/**
 * The op registry: every op of the IR, by name. Each entry is one definition holding the op's
 * attributes, shape/dtype inference, gradient rule and cost hint (see op-def.ts).
 * `OpName` types every kernel table, so a missing kernel is a compile error. Each family file
 * declares its attribute types in an interface (`XxxOpsAttrs`) and its definitions beside it.
 */
import { activationOps, type ActivationOpsAttrs } from './activation.js';
import { convOps, type ConvOpsAttrs } from './conv.js';
import { dropoutOps, type DropoutOpsAttrs } from './dropout.js';
import { elementwiseOps, type ElementwiseAttrs } from './elementwise.js';
import { lossOps, type LossOpsAttrs } from './loss.js';
import { matmulOps, type MatmulOpsAttrs } from './matmul.js';
import { normOps, type NormOpsAttrs } from './norm.js';
import type { OpDef } from './op-def.js';
import { optimOps, type OptimOpsAttrs } from './optim.js';
import { poolOps, type PoolOpsAttrs } from './pool.js';
import { reduceOps, type ReduceOpsAttrs } from './reduce.js';
import { shapeOps, type ShapeOpsAttrs } from './shape-ops.js';

/** Attribute type of every op, by name. */
export interface OpAttrs
  extends ElementwiseAttrs,
    ActivationOpsAttrs,
    MatmulOpsAttrs,
    ConvOpsAttrs,
    PoolOpsAttrs,
    NormOpsAttrs,
    ReduceOpsAttrs,
    ShapeOpsAttrs,
    LossOpsAttrs,
    DropoutOpsAttrs,
    OptimOpsAttrs {}

export type OpName = keyof OpAttrs;
export type AttrsOf<K extends OpName> = OpAttrs[K];

export const OPS: { [K in OpName]: OpDef<OpAttrs[K]> } = {
  ...elementwiseOps,
  ...activationOps,
  ...matmulOps,
  ...convOps,
  ...poolOps,
  ...normOps,
  ...reduceOps,
  ...shapeOps,
  ...lossOps,
  ...dropoutOps,
  ...optimOps,
};

export const OP_NAMES = Object.keys(OPS) as OpName[];

export function opDef(name: string): OpDef | undefined {
  return (OPS as unknown as Record<string, OpDef>)[name];
}
