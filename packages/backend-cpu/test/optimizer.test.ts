/**
 * Optimizer updates of a compiled training program against torch.optim's documented update
 * equations (https://pytorch.org/docs/stable/generated/torch.optim.SGD.html, .../Adam.html,
 * .../AdamW.html), re-implemented literally below in plain float64 JS.
 *
 * The model has two float64 params with closed-form gradients:
 *   loss = sum(0.5 * c * w^2 + d * w) + sum(0.25 * v^4),  dL/dw = c * w + d (d broadcast), dL/dv = v^3
 */
import { CpuBackend } from '@pockengine/backend-cpu';
import { GraphBuilder, PockError, Program, compileTrainingGraph, tensor, type OptimizerConfig } from '@pockengine/core';
import { describe, expect, it } from 'vitest';

const W0 = [0.5, -1.2, 2.0, 0.3, -0.7, 1.1];
const C = [1.0, 0.5, 2.0, 1.5, 0.8, 0.3];
const D = [0.2, -0.4, 0.1];
const V0 = [0.9, -0.6, 1.3];

function model() {
  const b = new GraphBuilder('quadratic');
  const w = b.param('w', tensor('float64', [2, 3], W0));
  const v = b.param('v', tensor('float64', [3], V0));
  const c = b.constant(tensor('float64', [2, 3], C), 'c');
  const d = b.constant(tensor('float64', [3], D), 'd');
  const lw = b.add(b.mulScalar(b.mul(c, b.mul(w, w)), 0.5), b.mul(d, w));
  const v2 = b.mul(v, v);
  const lv = b.mulScalar(b.mul(v2, v2), 0.25);
  b.output('loss', b.add(b.reduceSum(lw, [0, 1]), b.reduceSum(lv, [0])));
  return b.build();
}

/** Loss and gradients of the model, in plain JS. */
function lossAndGrads(w: number[], v: number[]) {
  const loss = w.reduce((s, wi, i) => s + 0.5 * C[i]! * wi * wi + D[i % 3]! * wi, 0) + v.reduce((s, vi) => s + 0.25 * vi ** 4, 0);
  return { loss, grads: [w.map((wi, i) => C[i]! * wi + D[i % 3]!), v.map((vi) => vi ** 3)] };
}

/** One optimizer step over a list of params with per-param state, as torch.optim's pseudocode. */
type RefStep = (params: number[][], grads: number[][], lr: number, t: number) => void;

function refSgd(o: { momentum?: number; dampening?: number; nesterov?: boolean; weightDecay?: number }): RefStep {
  const mu = o.momentum ?? 0;
  const tau = o.dampening ?? 0;
  const wd = o.weightDecay ?? 0;
  const bufs: number[][] = [];
  return (params, grads, lr, t) =>
    params.forEach((theta, k) => {
      const g = grads[k]!.map((gi, i) => (wd !== 0 ? gi + wd * theta[i]! : gi));
      let step = g;
      if (mu !== 0) {
        // t > 1: b = mu*b + (1 - tau)*g, else b = g
        bufs[k] = t > 1 ? bufs[k]!.map((bi, i) => mu * bi + (1 - tau) * g[i]!) : [...g];
        step = o.nesterov ? g.map((gi, i) => gi + mu * bufs[k]![i]!) : bufs[k]!;
      }
      theta.forEach((x, i) => (theta[i] = x - lr * step[i]!));
    });
}

function refAdam(o: { beta1?: number; beta2?: number; epsilon?: number; weightDecay?: number }, decoupled: boolean): RefStep {
  const b1 = o.beta1 ?? 0.9;
  const b2 = o.beta2 ?? 0.999;
  const eps = o.epsilon ?? 1e-8;
  const wd = o.weightDecay ?? (decoupled ? 0.01 : 0);
  const ms: number[][] = [];
  const vs: number[][] = [];
  return (params, grads, lr, t) =>
    params.forEach((theta, k) => {
      const m = (ms[k] ??= theta.map(() => 0));
      const v = (vs[k] ??= theta.map(() => 0));
      theta.forEach((x, i) => {
        let g = grads[k]![i]!;
        let th = x;
        if (decoupled) th = th - lr * wd * th; // AdamW: theta = theta - gamma*lambda*theta
        else if (wd !== 0) g = g + wd * th; // Adam: g = g + lambda*theta
        m[i] = b1 * m[i]! + (1 - b1) * g;
        v[i] = b2 * v[i]! + (1 - b2) * g * g;
        const mHat = m[i]! / (1 - b1 ** t);
        const vHat = v[i]! / (1 - b2 ** t);
        theta[i] = th - (lr * mHat) / (Math.sqrt(vHat) + eps);
      });
    });
}

const close = (got: ArrayLike<number>, want: readonly number[], what: string) => {
  expect(got.length, what).toBe(want.length);
  want.forEach((w, i) => expect(Math.abs(Number(got[i]) - w), `${what}[${i}]: got ${got[i]}, want ${w}`).toBeLessThan(1e-12 * Math.max(1, Math.abs(w))));
};

/** Runs the compiled program and the reference side by side, comparing loss, params and state after each step. */
async function compare(opt: OptimizerConfig, ref: RefStep, lrs: readonly number[]) {
  const { graph } = compileTrainingGraph(model(), { loss: { kind: 'output', output: 'loss' }, optimizer: opt });
  const program = Program.create(graph, new CpuBackend());
  const params = [[...W0], [...V0]];
  for (let t = 1; t <= lrs.length; t++) {
    program.lr = lrs[t - 1]!;
    const out = await program.step({});
    const { loss, grads } = lossAndGrads(params[0]!, params[1]!);
    close(out.loss!.data as Float64Array, [loss], `loss at step ${t}`);
    ref(params, grads, lrs[t - 1]!, t);
    close((await program.read('w')).data as Float64Array, params[0]!, `w after step ${t}`);
    close((await program.read('v')).data as Float64Array, params[1]!, `v after step ${t}`);
    close((await program.read('@step')).data as Float64Array, [t], 'step counter');
  }
}

const steps = (lr: number, n = 4) => new Array<number>(n).fill(lr);

describe('optimizer updates match torch.optim', () => {
  it('SGD', () => compare({ kind: 'sgd', lr: 0.1 }, refSgd({}), steps(0.1)));
  it('SGD with momentum (first-step buffer = gradient)', () =>
    compare({ kind: 'sgd', lr: 0.1, momentum: 0.9 }, refSgd({ momentum: 0.9 }), steps(0.1)));
  it('SGD with momentum and dampening', () =>
    compare({ kind: 'sgd', lr: 0.1, momentum: 0.8, dampening: 0.5 }, refSgd({ momentum: 0.8, dampening: 0.5 }), steps(0.1)));
  it('SGD nesterov', () =>
    compare({ kind: 'sgd', lr: 0.05, momentum: 0.9, nesterov: true }, refSgd({ momentum: 0.9, nesterov: true }), steps(0.05)));
  it('SGD weight decay', () => compare({ kind: 'sgd', lr: 0.1, weightDecay: 0.05 }, refSgd({ weightDecay: 0.05 }), steps(0.1)));
  it('SGD weight decay + nesterov momentum', () =>
    compare(
      { kind: 'sgd', lr: 0.1, momentum: 0.7, nesterov: true, weightDecay: 0.02 },
      refSgd({ momentum: 0.7, nesterov: true, weightDecay: 0.02 }),
      steps(0.1),
    ));
  it('Adam', () => compare({ kind: 'adam', lr: 0.01 }, refAdam({}, false), steps(0.01, 5)));
  it('Adam with L2 weight decay and non-default betas / epsilon', () => {
    const o = { beta1: 0.8, beta2: 0.99, epsilon: 1e-3, weightDecay: 0.1 };
    return compare({ kind: 'adam', lr: 0.02, ...o }, refAdam(o, false), steps(0.02, 5));
  });
  it('AdamW (default weight decay 0.01)', () => compare({ kind: 'adamw', lr: 0.01 }, refAdam({}, true), steps(0.01, 5)));
  it('AdamW with decoupled weight decay 0.1', () =>
    compare({ kind: 'adamw', lr: 0.05, weightDecay: 0.1 }, refAdam({ weightDecay: 0.1 }, true), steps(0.05, 5)));
  it('program.lr changes between steps (SGD momentum)', () =>
    compare({ kind: 'sgd', lr: 0.1, momentum: 0.9 }, refSgd({ momentum: 0.9 }), [0.1, 0.05, 0.2, 0.0, 0.1]));
  it('program.lr changes between steps (AdamW)', () =>
    compare({ kind: 'adamw', lr: 0.01, weightDecay: 0.1 }, refAdam({ weightDecay: 0.1 }, true), [0.01, 0.03, 0.001, 0.02]));

  it('momentum buffer and Adam moments are the documented state', async () => {
    const { graph } = compileTrainingGraph(model(), { loss: { kind: 'output', output: 'loss' }, optimizer: { kind: 'sgd', lr: 0.1, momentum: 0.9 } });
    const program = Program.create(graph, new CpuBackend());
    await program.step({});
    // first step: buffer = gradient
    close((await program.read('v@momentum')).data as Float64Array, V0.map((x) => x ** 3), 'v momentum buffer');

    const adam = compileTrainingGraph(model(), { loss: { kind: 'output', output: 'loss' }, optimizer: { kind: 'adam', lr: 0.1 } });
    const pa = Program.create(adam.graph, new CpuBackend());
    await pa.step({});
    const g = V0.map((x) => x ** 3);
    close((await pa.read('v@adam_m')).data as Float64Array, g.map((x) => 0.1 * x), 'first moment');
    close((await pa.read('v@adam_v')).data as Float64Array, g.map((x) => 0.001 * x * x), 'second moment');
  });

  it('nesterov with dampening is rejected at compile time', () => {
    expect(() =>
      compileTrainingGraph(model(), {
        loss: { kind: 'output', output: 'loss' },
        optimizer: { kind: 'sgd', lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true },
      }),
    ).toThrow(PockError);
  });
});
