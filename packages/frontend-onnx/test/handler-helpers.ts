/**
 * Helpers of the handler tests of decomposed ops (norm-act, space-cumsum-lrn): single-node models,
 * float64 forward runs, and finite-difference gradient checks of imported ONNX models (parameter
 * gradients held to central differences of the forward program).
 */
import { CpuBackend } from '@pockengine/backend-cpu';
import { PockError, Program, compileTrainingGraph, rng, size, tensor, type Graph, type Tensor } from '@pockengine/core';
import { expect } from 'vitest';
import { importOnnx } from '../src/index.js';
import { buildModel, node, type AttrValue, type ModelSpec } from './build.js';

export const f64 = (shape: number[], data: number[]) => tensor('float64', shape, data);
export const nums = (t: Tensor): number[] => Array.from(t.data as Float64Array);

/** Deterministic values in [lo, hi), rounded to float32 (the ONNX FLOAT initializers hold exactly these). */
export function values(n: number, seed: number, lo = -2, hi = 2): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => Math.fround(lo + (hi - lo) * r()));
}

export const f32 = (shape: number[], data: number[]) => tensor('float32', shape, data);

/** Imports in float64 and runs one forward step. */
export async function forward(spec: ModelSpec, feeds: Record<string, Tensor>): Promise<Record<string, number[]>> {
  const m = importOnnx(buildModel(spec), { floatType: 'float64' });
  const p = Program.create(m.graph, new CpuBackend());
  try {
    const out = await p.step(feeds);
    return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, nums(t)]));
  } finally {
    p.dispose();
  }
}

/** Element-wise |got - want| <= tol * max(1, |want|). */
export function expectClose(got: number[], want: number[], tol = 1e-12): void {
  expect(got.length).toBe(want.length);
  const bad = got.flatMap((g, i) => (Math.abs(g - want[i]!) <= tol * Math.max(1, Math.abs(want[i]!)) ? [] : [`[${i}] ${g} vs ${want[i]}`]));
  expect(bad).toEqual([]);
}

/** The single-node model `op(x, ...inits) -> y` at `opset`. */
export function oneNode(op: string, xShape: number[], inits: [string, Tensor][], attrs: Record<string, AttrValue>, opset = 17): ModelSpec {
  return {
    nodes: [node(op, ['x', ...inits.map(([n]) => n)], ['y'], attrs, 'n0')],
    inputs: [['x', 'float32', xShape]],
    outputs: ['y'],
    initializers: inits,
    opset,
  };
}


/**
 * Checks every parameter gradient of `spec` (loss: mean squared error of output y against
 * `target`, float64) against central finite differences of that loss, each parameter element
 * perturbed by +-1e-6 in the forward program. Returns the gradients.
 */
export async function gradCheck(spec: ModelSpec, x: Tensor, target: number[]): Promise<Record<string, number[]>> {
  const m = importOnnx(buildModel(spec), { floatType: 'float64' });
  expect(m.params.length).toBeGreaterThan(0);
  const { graph } = compileTrainingGraph(m.graph, { loss: { kind: 'mse' } });
  const yShape = m.graph.values[m.graph.outputs[0]!.value]!.shape;
  const labels = f64([...yShape], target);
  const train = Program.create(graph, new CpuBackend());
  const out = await train.step({ x, labels });
  train.dispose();

  const fwd = Program.create(m.graph, new CpuBackend());
  const loss = async () => {
    const y = nums((await fwd.step({ x }))['y']!);
    return y.reduce((s, v, i) => s + (v - target[i]!) ** 2, 0) / y.length;
  };
  // the training program's loss is the forward program's
  expect(Number(out.loss!.data[0])).toBeCloseTo(await loss(), 12);
  const init = paramData(m.graph);
  const grads: Record<string, number[]> = {};
  const h = 1e-6;
  for (const name of m.params) {
    const p0 = init.get(name)!;
    const got = nums(out[`grad.${name}`]!);
    const numeric: number[] = [];
    for (let i = 0; i < size(p0.shape); i++) {
      const at = async (d: number) => {
        const data = Float64Array.from(p0.data as Float64Array);
        data[i]! += d;
        fwd.setWeights(new Map([[name, tensor('float64', p0.shape, data)]]));
        return loss();
      };
      numeric.push(((await at(h)) - (await at(-h))) / (2 * h));
    }
    fwd.setWeights(new Map([[name, p0]]));
    const worst = Math.max(...got.map((g, i) => Math.abs(g - numeric[i]!) / Math.max(1, Math.abs(numeric[i]!))));
    expect(worst, `grad.${name}: ${got} vs finite differences ${numeric}`).toBeLessThan(1e-6);
    // a gradient that is zero everywhere would pass trivially
    expect(numeric.some((v) => Math.abs(v) > 1e-4), `grad.${name} is not trivially zero`).toBe(true);
    grads[name] = got;
  }
  fwd.dispose();
  return grads;
}

/** The initial data of every param, by name. */
export function paramData(g: Graph): Map<string, Tensor> {
  return new Map(g.values.filter((v) => v.role === 'param').map((v) => [v.name, g.init.get(v.id)!]));
}

/** The PockError importing `spec` throws (fails the test when it imports). */
export function importError(spec: ModelSpec): PockError {
  try {
    importOnnx(buildModel(spec), { floatType: 'float64' });
  } catch (e) {
    expect(e).toBeInstanceOf(PockError);
    return e as PockError;
  }
  throw new Error('expected the import to fail');
}
