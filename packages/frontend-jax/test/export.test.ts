/** Export back to jax-js (params pytree, safetensors) and model modules loaded from disk. */
import { numpy as np, tree, valueAndGrad, type Array as JaxArray } from '@jax-js/jax';
import { CpuBackend } from '@pockengine/backend-cpu';
import { PockError, Program, compileTraining, readSafetensors, toNumberArray } from '@pockengine/core';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { exportParams, exportSafetensors, importJax, leavesWithPaths, paramsToTensors } from '../src/index.js';
import { loadJaxModel, loadJaxModule, traceJaxModule } from '../src/node.js';
import { expectClose, hostTensor, labelTensor } from './harness.js';
import { crossEntropy, mlpApply, mlpParams, randArray, randInts, type MlpParams } from './models.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

describe('export', () => {
  it('one SGD step in the engine, exported to a jax-js pytree, equals params - lr * jax-js grad', async () => {
    const params = mlpParams([6, 8], 3, 30);
    const x = randArray([5, 6], 31);
    const labels = randInts([5], 32, 3);
    const lr = 0.1;
    const program = compileTraining(importJax(mlpApply, params, { x: [[5, 6], 'float32'] }), { loss: { kind: 'cross-entropy' }, optimizer: { kind: 'sgd', lr } }, new CpuBackend());
    await program.step({ x: hostTensor(x), labels: labelTensor(labels) });
    const trained = exportParams(await program.weights(), params);
    program.dispose();

    const lossFn = (p: MlpParams, xs: JaxArray, ys: JaxArray) => crossEntropy(mlpApply(p, xs), ys);
    const [loss, grads] = valueAndGrad(lossFn)(tree.ref(params), x.ref, labels.ref) as unknown as [JaxArray, MlpParams];
    loss.dispose();
    const before = paramsToTensors(params);
    const after = paramsToTensors(trained);
    expect([...after.keys()]).toEqual([...before.keys()]);
    for (const { path, leaf } of leavesWithPaths<JaxArray>(grads)) {
      const g = Float64Array.from(leaf.dataSync());
      const want = toNumberArray(before.get(path)!.data).map((p, i) => p - lr * g[i]!);
      expectClose(toNumberArray(after.get(path)!.data), want, `updated ${path}`);
    }
    // the exported tree runs with the original apply
    const y = mlpApply(trained, x);
    expect(y.shape).toEqual([5, 3]);
    y.dispose();
    labels.dispose();
    tree.dispose(params);
  });

  it('exports a graph to a pytree of the template structure, and to safetensors keyed by path', () => {
    const params = mlpParams([4, 5], 2, 40);
    const g = importJax(mlpApply, params, { x: [[1, 4], 'float32'] });
    const back = exportParams(g, params);
    expect(leavesWithPaths(back).map((l) => l.path)).toEqual(leavesWithPaths(params).map((l) => l.path));
    const st = readSafetensors(exportSafetensors(g));
    const orig = paramsToTensors(params);
    expect([...st.tensors.keys()].sort()).toEqual([...orig.keys()].sort());
    for (const [k, t] of orig) expect(toNumberArray(st.tensors.get(k)!.data)).toEqual(toNumberArray(t.data));
    expect(() => exportParams(new Map(), params)).toThrow(/no weights for layers\.0\.w/);
  });

  it('round-trips float64 params exactly', () => {
    const params = { w: randArray([7], 41).astype(np.float64).div(3) };
    const before = toNumberArray(paramsToTensors(params).get('w')!.data);
    const back = exportParams(importJax((p: typeof params, x: JaxArray) => p.w.mul(x), params, { x: [[7], 'float64'] }), params);
    expect(back.w.dtype).toBe('float64');
    expect(Array.from(back.w.dataSync())).toEqual(Array.from(before));
  });
});

describe('model modules (node entry)', () => {
  it('loads a module default-exporting { apply, params, inputs } and matches jax-js', async () => {
    const path = fixture('mlp-model.mjs');
    const graph = await loadJaxModule(path);
    expect(graph.values.filter((v) => v.role === 'param').map((v) => v.name)).toEqual(['hidden.w', 'hidden.b', 'out.w', 'out.b']);
    const { counts } = await traceJaxModule(path);
    expect(counts.dot).toBe(2);
    const model = await loadJaxModel(path);
    const x = randArray([4, 6], 50);
    const out = await Program.create(graph, new CpuBackend()).step({ x: hostTensor(x) });
    const ref = model.apply(tree.ref(model.params), x) as JaxArray;
    expectClose(toNumberArray(out.logits!.data), Float64Array.from(ref.dataSync()), 'module logits');
  });

  it('explains what a model module must export', async () => {
    await expect(loadJaxModule(fixture('not-a-model.mjs'))).rejects.toThrow(/`apply` is not a function; `params` is missing/);
    await expect(loadJaxModule(fixture('missing.mjs'))).rejects.toBeInstanceOf(PockError);
  });
});
