/**
 * compileTraining: model graph -> one static training program graph
 * (forward + loss + backward + optimizer updates), as pure graph -> graph stages.
 */
import { gradients } from '../autodiff/vjp.js';
import { PockError } from '../errors.js';
import { GraphBuilder } from '../ir/builder.js';
import type { Graph, Value, ValueId } from '../ir/graph.js';
import { verifyGraph } from '../ir/verify.js';
import { dce } from '../passes/dce.js';
import { withLoss, type LossSpec } from './loss.js';
import { withOptimizer, type OptimizerConfig } from './optimizer.js';

export interface TrainingOptions {
  loss: LossSpec;
  /** Which params are trained: a predicate over params, or a list of names. Default: all. */
  trainable?: ((v: Value) => boolean) | readonly string[];
  /** Omit to get a gradient program (outputs loss and `grad.<name>`), as `pockengine grad`. */
  optimizer?: OptimizerConfig;
  /** Also output the prediction (logits) under this name. */
  keepPrediction?: string;
}

export interface TrainingGraph {
  graph: Graph;
  /** Trained parameters, in graph order. */
  trained: ValueId[];
}

export function selectTrainable(model: Graph, trainable: TrainingOptions['trainable']): ValueId[] {
  const params = model.values.filter((v) => v.role === 'param');
  if (trainable === undefined) return params.map((v) => v.id);
  if (typeof trainable === 'function') return params.filter(trainable).map((v) => v.id);
  const byName = new Map(params.map((v) => [v.name, v.id]));
  const missing = trainable.filter((n) => !byName.has(n));
  if (missing.length) throw new PockError('scheme', `unknown parameters: ${missing.join(', ')}`);
  return trainable.map((n) => byName.get(n)!);
}

/** Builds the whole training step as one graph. */
export function compileTrainingGraph(model: Graph, opts: TrainingOptions): TrainingGraph {
  const { graph: withL, loss, prediction } = withLoss(model, opts.loss);
  const trained = selectTrainable(model, opts.trainable);
  const { graph: joint, grads } = gradients(withL, loss, trained);
  const b = new GraphBuilder(joint.name, { ...joint, outputs: [] });
  b.output('loss', loss);
  if (opts.keepPrediction) b.output(opts.keepPrediction, prediction);
  let g: Graph;
  if (opts.optimizer) {
    g = withOptimizer(b.build(), grads, opts.optimizer);
  } else {
    for (const p of trained) {
      const v = joint.values[p]!;
      let gv = grads.get(p);
      // a parameter the loss does not depend on gets an explicit zero gradient
      if (gv === undefined) gv = b.expand(b.scalarLike(0, p), v.shape);
      b.output(`grad.${v.name}`, gv);
    }
    g = b.build();
  }
  g = dce(g);
  verifyGraph(g);
  return { graph: g, trained };
}
