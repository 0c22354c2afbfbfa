/** Import behaviour: names, ownership, unsupported primitives, jit inlining, stop_gradient, coverage. */
import { grad, jit, lax, numpy as np, type Array as JaxArray } from '@jax-js/jax';
import { CpuBackend } from '@pockengine/backend-cpu';
import { PockError, Program, compileTrainingGraph, toNumberArray } from '@pockengine/core';
import { describe, expect, it } from 'vitest';
import { HANDLERS, PRIMITIVE_COVERAGE, importJax, paramsToTensors, traceJax } from '../src/index.js';
import { expectClose, hostTensor } from './harness.js';
import { mlpApply, mlpParams, randArray } from './models.js';

const ops = (g: { nodes: readonly { op: string }[] }) => g.nodes.map((n) => n.op);

describe('params and ownership', () => {
  it('names params by pytree path and keeps their values', () => {
    const params = mlpParams([3, 4], 2);
    const before = paramsToTensors(params);
    const g = importJax(mlpApply, params, { x: [[5, 3], 'float32'] });
    const named = g.values.filter((v) => v.role === 'param');
    expect(named.map((v) => v.name)).toEqual(['layers.0.w', 'layers.0.b', 'head.w', 'head.b']);
    for (const v of named) expect(toNumberArray(g.init.get(v.id)!.data)).toEqual(toNumberArray(before.get(v.name)!.data));
    expect(g.values.filter((v) => v.role === 'input').map((v) => [v.name, v.dtype, v.shape])).toEqual([['x', 'float32', [5, 3]]]);
    expect(g.outputs.map((o) => o.name)).toEqual(['logits']);
  });

  it('never frees the user arrays: params and closed-over constants stay usable', () => {
    const params = { w: randArray([4, 3], 1), b: randArray([3], 2) };
    const shift = randArray([3], 3);
    const apply = (p: typeof params, x: JaxArray) => np.matmul(x, p.w).add(p.b).add(shift.ref);
    const w0 = Array.from(params.w.ref.dataSync());
    for (let i = 0; i < 2; i++) importJax(apply, params, { x: [[2, 4], 'float32'] });
    expect([params.w.refCount, params.b.refCount, shift.refCount]).toEqual([1, 1, 1]);
    expect(Array.from(params.w.ref.dataSync())).toEqual(w0);
    // still usable by jax-js afterwards
    const y = apply({ w: params.w.ref, b: params.b.ref }, np.ones([2, 4]));
    expect(y.shape).toEqual([2, 3]);
    y.dispose();
  });

  it('names pytree outputs by path and imports buffers', () => {
    const params = { w: randArray([3, 3], 4), stats: { scale: randArray([3], 5) } };
    const apply = (p: typeof params, x: JaxArray) => {
      const h = np.matmul(x, p.w).mul(p.stats.scale);
      return { logits: h.ref, aux: [h.sum()] };
    };
    const g = importJax(apply, params, { x: [[2, 3], 'float32'] }, { buffers: ['stats.scale'] });
    expect(g.outputs.map((o) => o.name)).toEqual(['logits', 'aux.0']);
    expect(g.values.find((v) => v.name === 'stats.scale')!.role).toBe('buffer');
  });

  it('rejects bad params and inputs with input errors', () => {
    expect(() => importJax(mlpApply, { w: 3 }, { x: [[1, 3], 'float32'] })).toThrow(/not arrays: 'w'/);
    expect(() => importJax(mlpApply, {}, { x: [[1, 3], 'uint8' as never] })).toThrow(/dtype must be/);
  });
});

describe('unsupported primitives', () => {
  it('throws one unsupported-op error listing every equation, and what to do', () => {
    const apply = (p: { w: JaxArray }, x: JaxArray) => {
      // lhs dilation together with window strides: a transposed conv the IR has no form for
      const up = lax.convGeneralDilated(x, p.w, [2, 2], [[1, 1], [1, 1]], { lhsDilation: [2, 2] });
      const s = np.sort(up.ref, -1);
      return np.remainder(s, 2).add(up);
    };
    let err: PockError | undefined;
    try {
      importJax(apply, { w: randArray([3, 2, 3, 3], 6) }, { x: [[1, 2, 4, 4], 'float32'] });
    } catch (e) {
      err = e as PockError;
    }
    expect(err).toBeInstanceOf(PockError);
    expect(err!.code).toBe('unsupported-op');
    for (const want of [/conv\(float32\[1,2,4,4\], float32\[3,2,3,3\]\): lhs dilation.*window strides/, /sort\(/, /mod\(/, /equation \d+: /, /pass the results as inputs/])
      expect(err!.message).toMatch(want);
  });

  it('lists unsupported primitives inside nested jits with their path', () => {
    const inner = jit((x: JaxArray) => np.sort(x.mul(2)));
    expect(() => importJax((_p: unknown, x: JaxArray) => inner(x).add(1), {}, { x: [[3], 'float32'] })).toThrow(/equation 0\/1: sort/);
  });
});

describe('jit', () => {
  it('inlines nested jits (jit of jit) into one graph', async () => {
    const inner = jit((x: JaxArray) => np.exp(x).mul(2));
    const outer = jit((x: JaxArray, w: JaxArray) => inner(np.matmul(x, w)).add(1));
    const apply = (p: { w: JaxArray }, x: JaxArray) => outer(x, p.w);
    const params = { w: randArray([3, 2], 7) };
    const r = traceJax(apply, params, { x: [[4, 3], 'float32'] });
    expect(ops(r.graph)).toEqual(['matmul', 'exp', 'mul', 'add']);
    const x = randArray([4, 3], 8);
    const out = await Program.create(r.graph, new CpuBackend()).step({ x: hostTensor(x) });
    expectClose(toNumberArray(out.logits!.data), Float64Array.from(apply({ w: params.w.ref }, x).dataSync()), 'jit of jit');
  });

  it('imports a jitted apply like the plain one', () => {
    const params = mlpParams([3, 4], 2);
    const spec = { x: [[5, 3], 'float32'] } as const;
    expect(ops(importJax(jit(mlpApply), params, spec))).toEqual(ops(importJax(mlpApply, params, spec)));
  });

  it('recognises jax-js library bodies only when the body matches, not by name', () => {
    const tanh = jit(function tanh(x: JaxArray) {
      return x.mul(3); // named tanh, but not np.tanh
    });
    expect(ops(importJax((_p: unknown, x: JaxArray) => tanh(x), {}, { x: [[2], 'float32'] }))).toEqual(['mul']);
    expect(ops(importJax((_p: unknown, x: JaxArray) => np.tanh(x), {}, { x: [[2], 'float32'] }))).toEqual(['tanh']);
  });
});

describe('stop_gradient', () => {
  it('blocks the gradient as jax-js does', async () => {
    // loss = sum(w * stop_gradient(w) * x): d/dw = stop_gradient(w) * x, not 2 w x
    const f = (p: { w: JaxArray }, x: JaxArray) => p.w.ref.mul(lax.stopGradient(p.w)).mul(x).sum();
    const params = { w: randArray([5], 9) };
    const x = randArray([5], 10);
    const g = importJax(f, params, { x: [[5], 'float32'] }, { output: 'loss' });
    const { graph } = compileTrainingGraph(g, { loss: { kind: 'output', output: 'loss' } });
    const out = await Program.create(graph, new CpuBackend()).step({ x: hostTensor(x) });
    const ref = grad(f)({ w: params.w.ref }, x.ref) as unknown as { w: JaxArray };
    expectClose(toNumberArray(out['grad.w']!.data), Float64Array.from(ref.w.dataSync()), 'grad w');
  });
});

describe('coverage', () => {
  it('has one handler and one coverage entry per jax-js primitive', () => {
    const names = PRIMITIVE_COVERAGE.map((c) => c.primitive);
    expect(names).toEqual(Object.keys(HANDLERS).sort());
    expect(names.length).toBeGreaterThanOrEqual(51);
    for (const p of ['add', 'mul', 'dot', 'conv', 'reduce', 'pool', 'gather', 'jit', 'stop_gradient', 'where', 'compare'])
      expect(PRIMITIVE_COVERAGE.find((c) => c.primitive === p)!.status).not.toBe('unsupported');
  });
});
