import { GraphBuilder } from '../ir/builder.js';
import type { Graph, ValueId } from '../ir/graph.js';
import { updatedShape } from '../ops/optim.js';
import { tensor } from '../tensor.js';

/**
 * Optimizers, with PyTorch's defaults and semantics. The learning rate is program state
 * (initialised from the config; `Program.lr` changes it between steps without recompiling).
 */
export type OptimizerConfig =
  | { kind: 'sgd'; lr: number; momentum?: number; dampening?: number; nesterov?: boolean; weightDecay?: number }
  | { kind: 'adam' | 'adamw'; lr: number; beta1?: number; beta2?: number; epsilon?: number; weightDecay?: number };

/** Names of the learning-rate and step-counter states of a training program. */
export const LR_STATE = '@lr';
export const STEP_STATE = '@step';

/**
 * Appends one update op per trained parameter, fed by its gradient, with state owned by the
 * program (momentum / Adam moments, zero-initialised, and a shared step counter).
 */
export function withOptimizer(
  g: Graph,
  grads: ReadonlyMap<ValueId, ValueId>,
  opt: OptimizerConfig,
  rowsOf: ReadonlyMap<ValueId, readonly number[]> = new Map(),
): Graph {
  const b = new GraphBuilder(g.name, g);
  const params = [...grads.keys()];
  if (params.length === 0) return g;
  const dtype = b.dtype(params[0]!);
  const lr = b.state(LR_STATE, tensor(dtype, [], [opt.lr]));
  const step = b.state(STEP_STATE, tensor(dtype, [], [0]));
  const nextStep = b.scoped('optimizer', () => b.add(step, b.scalarLike(1, step)));
  b.update(step, nextStep);
  for (const p of params) {
    const pv = b.value(p);
    const grad = grads.get(p)!;
    const rows = rowsOf.get(p) ?? null;
    const zeros = () => tensor(pv.dtype, updatedShape(pv.shape, rows));
    b.scoped(`update(${pv.name})`, () => {
      if (opt.kind === 'sgd') {
        const momentum = opt.momentum ?? 0;
        const attrs = { rows, momentum, dampening: opt.dampening ?? 0, nesterov: opt.nesterov ?? false, weightDecay: opt.weightDecay ?? 0 };
        if (momentum !== 0) {
          const vel = b.state(`${pv.name}@momentum`, zeros());
          const [np, nv] = b.op('sgd_update', [p, grad, lr, nextStep, vel], attrs);
          b.update(p, np!);
          b.update(vel, nv!);
        } else {
          b.update(p, b.op1('sgd_update', [p, grad, lr, nextStep], attrs));
        }
      } else {
        const m = b.state(`${pv.name}@adam_m`, zeros());
        const v = b.state(`${pv.name}@adam_v`, zeros());
        const [np, nm, nv] = b.op('adam_update', [p, grad, lr, nextStep, m, v], {
          rows,
          beta1: opt.beta1 ?? 0.9,
          beta2: opt.beta2 ?? 0.999,
          epsilon: opt.epsilon ?? 1e-8,
          weightDecay: opt.weightDecay ?? (opt.kind === 'adamw' ? 0.01 : 0),
          decoupled: opt.kind === 'adamw',
        });
        b.update(p, np!);
        b.update(m, nm!);
        b.update(v, nv!);
      }
    });
  }
  return b.build();
}
