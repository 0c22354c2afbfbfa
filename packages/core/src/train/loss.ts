import { PockError } from '../errors.js';
import { GraphBuilder } from '../ir/builder.js';
import type { Graph, ValueId } from '../ir/graph.js';

/**
 * Which loss ends the model:
 * - cross-entropy: mean softmax cross-entropy of the logits output against integer labels
 *   (logits [..., C], labels [...]; [batch, seq, vocab] works too);
 * - mse: mean squared error against float targets of the output's shape;
 * - output: the model already computes its loss as the named scalar output.
 */
export type LossSpec =
  | { kind: 'cross-entropy'; output?: string; labelDtype?: 'int32' | 'int64' }
  | { kind: 'mse'; output?: string }
  | { kind: 'output'; output: string };

export interface LossGraph {
  graph: Graph;
  loss: ValueId;
  /** The value the loss reads (logits / predictions). */
  prediction: ValueId;
  labels?: ValueId;
}

/** Appends the loss to a model graph; adds a `labels` input and a `loss` output. */
export function withLoss(model: Graph, spec: LossSpec): LossGraph {
  const name = spec.output ?? model.outputs[0]?.name;
  const out = model.outputs.find((o) => o.name === name);
  if (!out)
    throw new PockError('input', `model has no output '${name}' (outputs: ${model.outputs.map((o) => o.name).join(', ')})`);
  const b = new GraphBuilder(model.name, model);
  const pred = out.value;
  const predShape = b.shape(pred);
  let loss: ValueId;
  let labels: ValueId | undefined;
  if (spec.kind === 'output') {
    loss = pred;
  } else if (spec.kind === 'cross-entropy') {
    labels = b.input('labels', spec.labelDtype ?? 'int64', predShape.slice(0, -1));
    loss = b.scoped('loss', () => b.op1('softmax_cross_entropy', [pred, labels!], { reduction: 'mean', ignoreIndex: null }));
  } else {
    labels = b.input('labels', b.dtype(pred), predShape);
    loss = b.scoped('loss', () => {
      const d = b.sub(pred, labels!);
      return b.op1('reduce_mean', [b.mul(d, d)], { axes: predShape.map((_, i) => i), keepdims: false });
    });
  }
  b.output('loss', loss);
  return { graph: b.build(), loss, prediction: pred, labels };
}
