/**
 * compileTrainingGraph: model graph -> one static training program graph
 * (forward + loss + backward + optimizer updates), as a chain of pure graph -> graph stages:
 *
 *   foldFrozenBatchNorm -> foldMatmulTransposes -> withLoss -> gradients (sparse: only trained params,
 *   only their channels) -> withOptimizer
 *   -> dce -> cse -> pushRowSelections -> activationMasks -> dce -> fuseConvActivation -> reorderUpdates
 *   -> fuseMatmulUpdates -> microBatchFrozenPrefix -> verify
 */
import { gradients } from '../autodiff/vjp.js';
import { PockError } from '../errors.js';
import { GraphBuilder } from '../ir/builder.js';
import type { Graph, Value, ValueId } from '../ir/graph.js';
import { verifyGraph } from '../ir/verify.js';
import { activationMasks } from '../passes/activation-masks.js';
import { cse } from '../passes/cse.js';
import { dce } from '../passes/dce.js';
import { foldFrozenBatchNorm } from '../passes/fold-bn.js';
import { foldMatmulTransposes } from '../passes/fold-transpose.js';
import { fuseConvActivation } from '../passes/fuse.js';
import { fuseMatmulUpdates } from '../passes/fuse-update.js';
import { microBatchFrozenPrefix, type MicroBatches } from '../passes/micro-batch.js';
import { reorderUpdates } from '../passes/reorder.js';
import { pushRowSelections, selectRows } from '../passes/row-select.js';
import { resolveScheme, type ParamUpdate, type SparseScheme } from '../sparse/scheme.js';
import { tensor } from '../tensor.js';
import { withLoss, type LossSpec } from './loss.js';
import { withOptimizer, type OptimizerConfig } from './optimizer.js';

export interface TrainingOptions {
  loss: LossSpec;
  /** Which params are trained (whole): a predicate over params, or a list of names. Default: all. */
  trainable?: ((v: Value) => boolean) | readonly string[];
  /** A sparse update scheme (parameter globs, full / none / some output channels). */
  scheme?: SparseScheme;
  /** Omit to get a gradient program (outputs loss and `grad.<name>`), as `pockengine grad`. */
  optimizer?: OptimizerConfig;
  /** Also output the prediction (logits) under this name. */
  keepPrediction?: string;
  /** Run the training-graph optimizations (fold frozen BN, CSE, reordering). Default true. */
  optimize?: boolean;
  /**
   * Run the frozen prefix (the inference-only layers below the lowest trained one) in this many
   * slices of the batch, or 'auto' (default: the count with the lowest planned peak; 1 when it
   * does not help). 1 turns it off. Needs `optimize`.
   */
  microBatches?: MicroBatches;
}

export interface TrainingGraph {
  graph: Graph;
  /** Trained parameters, in graph order. */
  trained: ValueId[];
  /** How each trained parameter is updated. */
  updates: Map<ValueId, ParamUpdate>;
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

function resolveUpdates(model: Graph, opts: TrainingOptions): Map<ValueId, ParamUpdate> {
  if (opts.scheme && opts.trainable) throw new PockError('scheme', 'give either `trainable` or `scheme`, not both');
  const updates = opts.scheme
    ? resolveScheme(model, opts.scheme)
    : new Map(selectTrainable(model, opts.trainable).map((id) => [id, { kind: 'full' } as ParamUpdate]));
  // graph order
  return new Map([...updates].sort((a, b) => a[0] - b[0]));
}

/** Builds the whole training step as one graph. */
export function compileTrainingGraph(model: Graph, opts: TrainingOptions): TrainingGraph {
  const optimize = opts.optimize ?? true;
  const updates = resolveUpdates(model, opts);
  const trained = [...updates.keys()];
  const frozen = new Set(model.values.filter((v) => v.role === 'param' && !updates.has(v.id)).map((v) => v.id));
  const base = optimize ? foldMatmulTransposes(foldFrozenBatchNorm(model, frozen)) : model;
  const { graph: withL, loss, prediction } = withLoss(base, opts.loss);
  const { graph: joint, grads } = gradients(withL, loss, trained);
  const b = new GraphBuilder(joint.name, { ...joint, outputs: [] });
  b.output('loss', loss);
  if (opts.keepPrediction) b.output(opts.keepPrediction, prediction);

  // gradients of the trained parameters; channel-sparse ones restricted to their rows
  const rowsOf = new Map<ValueId, readonly number[]>();
  const paramGrads = new Map<ValueId, ValueId>();
  for (const [p, u] of updates) {
    const v = joint.values[p]!;
    let g = grads.get(p);
    if (g === undefined) {
      if (opts.optimizer) continue; // like PyTorch: a parameter with no gradient is not updated
      g = b.expand(b.scalarLike(0, p), v.shape); // explicit zero gradient in a gradient program
    }
    if (u.kind === 'channels') {
      rowsOf.set(p, u.rows);
      g = b.scoped(`grad(${v.name})`, () => selectRows(b, g!, u.rows));
    }
    paramGrads.set(p, g);
  }
  let g: Graph;
  if (opts.optimizer) {
    g = withOptimizer(b.build(), paramGrads, opts.optimizer, rowsOf);
  } else {
    for (const [p, gv] of paramGrads) {
      const v = joint.values[p]!;
      const rows = rowsOf.get(p);
      // a gradient program reports full-shape gradients: zeros in the rows not trained
      const full = rows
        ? b.scoped(`grad(${v.name})`, () =>
            b.op1('scatter_add', [b.constant(tensor('int32', [rows.length], rows), 'rows'), gv], { axis: 0, shape: [...v.shape] }),
          )
        : gv;
      b.output(`grad.${v.name}`, full);
    }
    g = b.build();
  }
  g = dce(g);
  if (optimize) {
    g = fuseMatmulUpdates(reorderUpdates(fuseConvActivation(dce(activationMasks(pushRowSelections(cse(g)))))));
    g = microBatchFrozenPrefix(g, new Set(trained), opts.microBatches ?? 'auto');
  }
  verifyGraph(g);
  return { graph: g, trained, updates };
}
