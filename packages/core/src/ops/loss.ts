/**
 * Loss ops. softmax_cross_entropy fuses log-softmax and negative log-likelihood over the last
 * axis, as torch.nn.functional.cross_entropy and ONNX SoftmaxCrossEntropyLoss
 * (https://onnx.ai/onnx/operators/onnx__SoftmaxCrossEntropyLoss.html) define it, except that
 * classes are on the LAST axis ([batch, C] or [batch, seq, C]); a frontend importing ONNX's
 * [N, C, d1, ...] layout transposes first.
 */
import type { ErrorLocation } from '../errors.js';
import { PockError } from '../errors.js';
import type { TypeInfo } from '../ir/graph.js';
import { fmtShape, shapeEq, size } from '../shape.js';
import { requireAttr, requireFloat, requireInteger } from './checks.js';
import { movedBytes } from './cost.js';
import { defineOp, type OpDef } from './op-def.js';

export type CrossEntropyAttrs = {
  /**
   * 'mean': sum over non-ignored positions divided by their count (PyTorch/ONNX 'mean'; when
   * every position is ignored this is 0/0 = NaN and the gradient is 0, as PyTorch).
   * 'sum': plain sum over non-ignored positions.
   */
  reduction: 'mean' | 'sum';
  /** Label value whose positions contribute neither loss nor gradient (PyTorch ignore_index). */
  ignoreIndex: number | null;
};

export interface LossOpsAttrs {
  softmax_cross_entropy: CrossEntropyAttrs;
  softmax_cross_entropy_grad: CrossEntropyAttrs;
}

function checkAttrs(a: CrossEntropyAttrs, where: ErrorLocation): void {
  requireAttr(a.reduction === 'mean' || a.reduction === 'sum', `reduction must be 'mean' or 'sum', got '${a.reduction}'`, where);
  requireAttr(
    a.ignoreIndex === null || Number.isInteger(a.ignoreIndex),
    `ignoreIndex must be an integer or null, got ${a.ignoreIndex}`,
    where,
  );
}

/** Checks logits [..., C] against labels [...] and returns the class count C. */
function checkLogitsLabels(logits: TypeInfo, labels: TypeInfo, where: ErrorLocation): number {
  requireFloat(logits, 'logits', where);
  requireInteger(labels, 'labels', where);
  if (logits.shape.length < 1)
    throw new PockError('shape', `logits must have a class axis (rank >= 1), got shape ${fmtShape(logits.shape)}`, where);
  const lead = logits.shape.slice(0, -1);
  if (!shapeEq(lead, labels.shape))
    throw new PockError(
      'shape',
      `labels shape ${fmtShape(labels.shape)} must equal logits shape ${fmtShape(logits.shape)} without its last (class) axis, i.e. ${fmtShape(lead)}`,
      where,
    );
  const c = logits.shape[logits.shape.length - 1]!;
  if (c < 1) throw new PockError('shape', `logits have no classes (shape ${fmtShape(logits.shape)})`, where);
  return c;
}

/** Roughly: max, exp, sum, log per element of the logits. */
const ceCost = (inputs: readonly TypeInfo[], outputs: readonly TypeInfo[]) => ({
  flops: 5 * size(inputs[0]!.shape),
  bytes: movedBytes(inputs, outputs),
});

export const lossOps: { [K in keyof LossOpsAttrs]: OpDef<LossOpsAttrs[K]> } = {
  /**
   * [logits (..., C) float, labels (...) int32/int64] -> loss [] (logits' dtype):
   * -log softmax(logits)[label], reduced over positions. Labels outside [0, C) that are not
   * ignoreIndex make the kernel throw PockError('input').
   */
  softmax_cross_entropy: defineOp<CrossEntropyAttrs>({
    name: 'softmax_cross_entropy',
    arity: [2, 2],
    infer: ([logits, labels], a, where) => {
      checkAttrs(a, where);
      checkLogitsLabels(logits!, labels!, where);
      return [{ dtype: logits!.dtype, shape: [] }];
    },
    nondiffInputs: [1],
    vjp: (b, { inputs: [logits, labels], attrs, needs }, [g]) => [
      needs[0]
        ? b.op1('softmax_cross_entropy_grad', [logits!, labels!, g!], { reduction: attrs.reduction, ignoreIndex: attrs.ignoreIndex })
        : null,
      null,
    ],
    cost: ceCost,
  }),

  /** [logits, labels, dloss []] -> dlogits = (softmax(logits) - onehot(label)) * dloss / count. */
  softmax_cross_entropy_grad: defineOp<CrossEntropyAttrs>({
    name: 'softmax_cross_entropy_grad',
    arity: [3, 3],
    infer: ([logits, labels, dloss], a, where) => {
      checkAttrs(a, where);
      checkLogitsLabels(logits!, labels!, where);
      if (dloss!.dtype !== logits!.dtype || dloss!.shape.length !== 0)
        throw new PockError('shape', `dloss must be a ${logits!.dtype} scalar of shape [], got ${dloss!.dtype}${fmtShape(dloss!.shape)}`, where);
      return [{ dtype: logits!.dtype, shape: logits!.shape }];
    },
    nondiff: 'backward',
    cost: ceCost,
  }),
};
