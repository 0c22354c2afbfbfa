/**
 * Central finite-difference gradient checks in float64, driven by the op registry.
 * A case builds `loss = sum_k sum(out_k * R_k)` over an op's float outputs with fixed random
 * weights R_k, differentiates it with the compile-time autodiff, runs it on the CPU backend and
 * compares every element of every checked input's gradient with (L(x+h) - L(x-h)) / 2h.
 */
import {
  GraphBuilder,
  Program,
  dce,
  gradients,
  isFloat,
  rng,
  size,
  tensor,
  type AttrsOf,
  type DType,
  type Graph,
  type OpName,
  type Tensor,
  type ValueId,
} from '@pockengine/core';
import { CpuBackend } from '../../src/index.js';

export interface InputSpec {
  shape: readonly number[];
  /** float64 (default, checked unless listed in `wrt`), or an integer/bool dtype (fixed). */
  dtype?: DType;
  /** Explicit values (row-major); otherwise uniform in [low, high). */
  values?: readonly number[];
  low?: number;
  high?: number;
}

export interface GradCase<K extends OpName = OpName> {
  /** Label shown in the test name. */
  label?: string;
  inputs: readonly InputSpec[];
  attrs: AttrsOf<K>;
  /** Inputs to check (default: every float input). */
  wrt?: readonly number[];
  /** Tolerance on |analytic - numeric| / max(1, |numeric|) (default 1e-6). */
  tol?: number;
}

export type GradCases = { [K in OpName]?: readonly GradCase<K>[] };

/** Forward value check for ops with no gradient (comparisons, argmax). */
export interface ForwardCase<K extends OpName = OpName> {
  label?: string;
  inputs: readonly (InputSpec & { values: readonly number[] })[];
  attrs: AttrsOf<K>;
  expected: readonly (readonly number[])[];
}
export type ForwardCases = { [K in OpName]?: readonly ForwardCase<K>[] };

/** Ops seen in the gradient programs of checked cases: backward-only ops are verified there. */
export const opsSeenInGradients = new Set<string>();

function makeData(spec: InputSpec, seed: number): Tensor {
  const dtype = spec.dtype ?? 'float64';
  if (spec.values) return tensor(dtype, spec.shape, spec.values);
  const r = rng(seed);
  const lo = spec.low ?? -1;
  const hi = spec.high ?? 1;
  const n = size(spec.shape);
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = isFloat(dtype) ? lo + (hi - lo) * r() : Math.floor(lo + (hi - lo) * r());
  return tensor(dtype, spec.shape, v);
}

interface Built {
  graph: Graph;
  inputs: ValueId[];
  loss: ValueId;
}

function buildLossGraph<K extends OpName>(op: K, c: GradCase<K>, data: Tensor[], wrt: readonly number[], seed: number): Built {
  const b = new GraphBuilder(`check_${op}`);
  const ins = c.inputs.map((s, i) =>
    wrt.includes(i) ? b.input(`x${i}`, data[i]!.dtype, s.shape) : b.constant(data[i]!, `c${i}`),
  );
  const outs = b.op(op, ins, c.attrs);
  let loss: ValueId | null = null;
  outs.forEach((o, k) => {
    if (!isFloat(b.dtype(o))) return;
    const w = makeData({ shape: b.shape(o), low: -1, high: 1 }, seed + 101 * (k + 1));
    const s = b.reduceSum(b.mul(o, b.constant(w)), b.shape(o).map((_, i) => i));
    loss = loss === null ? s : b.add(loss, s);
  });
  if (loss === null) throw new Error(`${op}: no float output to check`);
  b.output('loss', loss);
  return { graph: b.build(), inputs: ins, loss };
}

export interface CheckResult {
  worst: number;
  where: string;
}

export async function gradCheck<K extends OpName>(op: K, c: GradCase<K>, seed = 7): Promise<CheckResult> {
  const data = c.inputs.map((s, i) => makeData(s, seed + i));
  const wrt = c.wrt ?? c.inputs.map((s, i) => (isFloat(s.dtype ?? 'float64') ? i : -1)).filter((i) => i >= 0);
  const built = buildLossGraph(op, c, data, wrt, seed);
  // poisoned outputs: a kernel that relies on zeroed memory or skips elements yields NaNs here
  const be = new CpuBackend(undefined, { poisonOutputs: true });

  // analytic: one gradient program
  const { graph: joint, grads } = gradients(built.graph, built.loss, built.inputs.filter((_, i) => wrt.includes(i)));
  const gb = new GraphBuilder(joint.name, { ...joint, outputs: [] });
  gb.output('loss', built.loss);
  for (const i of wrt) {
    const v = built.inputs[i]!;
    const g = grads.get(v);
    gb.output(`g${i}`, g ?? gb.expand(gb.scalarLike(0, v), gb.shape(v)));
  }
  const gradGraph = dce(gb.build());
  for (const n of gradGraph.nodes) opsSeenInGradients.add(n.op);
  const feeds: Record<string, Tensor> = {};
  for (const i of wrt) feeds[`x${i}`] = data[i]!;
  const analytic = await Program.create(gradGraph, be).step(feeds);

  // numeric: the forward program, perturbed
  const fwd = Program.create(built.graph, be);
  const lossAt = async (f: Record<string, Tensor>) => Number((await fwd.step(f)).loss!.data[0]);
  const h = 1e-6;
  let worst = 0;
  let where = '';
  for (const i of wrt) {
    const x = data[i]!.data as Float64Array;
    const g = analytic[`g${i}`]!.data as Float64Array;
    for (let j = 0; j < x.length; j++) {
      const orig = x[j]!;
      x[j] = orig + h;
      const lp = await lossAt(feeds);
      x[j] = orig - h;
      const lm = await lossAt(feeds);
      x[j] = orig;
      const num = (lp - lm) / (2 * h);
      const err = Math.abs(g[j]! - num) / Math.max(1, Math.abs(num));
      if (err > worst || Number.isNaN(err)) {
        worst = Number.isNaN(err) ? Infinity : err;
        where = `input ${i}[${j}]: analytic ${g[j]} vs numeric ${num}`;
      }
    }
  }
  return { worst, where };
}

export async function forwardCheck<K extends OpName>(op: K, c: ForwardCase<K>): Promise<number> {
  const b = new GraphBuilder(`fwd_${op}`);
  const ins = c.inputs.map((s, i) => b.constant(makeData(s, i), `c${i}`));
  const outs = b.op(op, ins, c.attrs);
  outs.forEach((o, k) => b.output(`y${k}`, o));
  const res = await Program.create(b.build(), new CpuBackend(undefined, { poisonOutputs: true })).step({});
  let worst = 0;
  c.expected.forEach((exp, k) => {
    const got = res[`y${k}`]!.data;
    if (got.length !== exp.length) worst = Infinity;
    exp.forEach((e, j) => (worst = Math.max(worst, Math.abs(Number(got[j]) - e))));
  });
  return worst;
}
