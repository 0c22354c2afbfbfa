/** Runs both sides of a parity check: jax-js's own valueAndGrad, and the imported graph on the CPU backend. */
import { tree, valueAndGrad, type Array as JaxArray } from '@jax-js/jax';
import { CpuBackend } from '@pockengine/backend-cpu';
import { Program, compileTrainingGraph, tensor, toNumberArray, type Graph, type Tensor } from '@pockengine/core';
import { expect } from 'vitest';
import { leavesWithPaths, paramsToTensors } from '../src/index.js';
import { crossEntropy } from './models.js';

export interface Side {
  loss: number;
  logits: Float64Array;
  grads: Map<string, Float64Array>;
}

type Apply<P> = (p: P, x: JaxArray) => JaxArray;

/** jax-js: loss, logits and d loss / d params, leaving params, x and labels usable. */
export function jaxSide<P>(apply: Apply<P>, params: P, x: JaxArray, labels: JaxArray): Side {
  const lossFn = (p: P, xs: JaxArray, ys: JaxArray) => crossEntropy(apply(p, xs), ys);
  const [loss, grads] = valueAndGrad(lossFn)(tree.ref(params) as never, x.ref, labels.ref) as unknown as [JaxArray, unknown];
  const logits = apply(tree.ref(params), x.ref);
  return {
    loss: loss.item(),
    logits: Float64Array.from(logits.dataSync()),
    grads: new Map(leavesWithPaths<JaxArray>(grads).map(({ path, leaf }) => [path, Float64Array.from(leaf.dataSync())])),
  };
}

/** Ours: compile a gradient program (no optimizer) and run one step on the CPU backend. */
export async function ourSide(graph: Graph, feeds: Record<string, Tensor>, trainable?: readonly string[]): Promise<Side> {
  const { graph: g } = compileTrainingGraph(graph, { loss: { kind: 'cross-entropy' }, keepPrediction: 'logits', trainable });
  const program = Program.create(g, new CpuBackend());
  try {
    const out = await program.step(feeds);
    const grads = new Map<string, Float64Array>();
    for (const [k, v] of Object.entries(out)) if (k.startsWith('grad.')) grads.set(k.slice(5), toNumberArray(v.data));
    return { loss: Number(out.loss!.data[0]), logits: toNumberArray(out.logits!.data), grads };
  } finally {
    program.dispose();
  }
}

/** A jax-js array as a host tensor (the array stays usable). */
export function hostTensor(a: JaxArray): Tensor {
  return paramsToTensors(a).get('')!;
}

/** Labels as the int64 tensor the cross-entropy loss input takes. */
export function labelTensor(a: JaxArray): Tensor {
  const t = hostTensor(a);
  return tensor('int64', t.shape, t.data);
}

/**
 * float32 agreement: |ours - ref| <= atol + rtol * |ref|, with atol scaled to the array's
 * magnitude (float32 sums of a few hundred terms lose ~1e-6 relative to the largest term).
 */
export function expectClose(ours: Float64Array, ref: Float64Array, what: string, rtol = 2e-4): number {
  expect(ours.length, `${what}: length`).toBe(ref.length);
  const scale = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const atol = 2e-5 * Math.max(scale, 1e-3);
  let worst = 0;
  for (let i = 0; i < ref.length; i++) {
    const err = Math.abs(ours[i]! - ref[i]!);
    const excess = err / (atol + rtol * Math.abs(ref[i]!));
    worst = Math.max(worst, excess);
    if (excess > 1) expect.fail(`${what}[${i}]: ours ${ours[i]} vs jax-js ${ref[i]} (|diff| ${err.toExponential(2)}, scale ${scale.toExponential(2)})`);
  }
  return worst;
}

/** Compares loss, logits and the gradient of every param the reference has (or `only`). */
export function expectParity(ours: Side, ref: Side, only?: readonly string[]): void {
  expect(Math.abs(ours.loss - ref.loss), `loss ${ours.loss} vs ${ref.loss}`).toBeLessThan(1e-5 * Math.max(1, Math.abs(ref.loss)));
  expectClose(ours.logits, ref.logits, 'logits');
  const names = only ?? [...ref.grads.keys()];
  expect([...ours.grads.keys()].sort()).toEqual([...names].sort());
  for (const n of names) expectClose(ours.grads.get(n)!, ref.grads.get(n)!, `grad ${n}`);
}
