/**
 * Parity with jax-js itself: each model is written in jax-js, imported, compiled into a gradient
 * program (cross-entropy, no optimizer) and run on the CPU backend in float32; its loss, logits
 * and every parameter gradient must match jax-js's own valueAndGrad of a mean softmax
 * cross-entropy written in jax-js on the same apply. Sparse: training only a subset of params
 * gives exactly those params' gradients (backprop is pruned, not approximated).
 */
import { tree, type Array as JaxArray } from '@jax-js/jax';
import { describe, expect, it } from 'vitest';
import { traceJax } from '../src/index.js';
import { expectParity, hostTensor, jaxSide, labelTensor, ourSide } from './harness.js';
import { TF, cnnApply, cnnParams, decApply, decParams, mlpApply, mlpParams, randArray, randInts, tfApply, tfParams } from './models.js';

interface Case {
  name: string;
  apply: (p: any, x: JaxArray) => JaxArray;
  params: () => unknown;
  input: () => { x: JaxArray; spec: [number[], 'float32' | 'int32'] };
  labels: () => JaxArray;
  /** Params trained in the sparse check. */
  sparse: string[];
  /** IR ops the import must produce (the mapping, not a decomposition). */
  ops: string[];
}

const CASES: Case[] = [
  {
    name: 'MLP (matmul, relu, tanh)',
    apply: mlpApply,
    params: () => mlpParams([12, 16, 16], 5),
    input: () => ({ x: randArray([4, 12], 3), spec: [[4, 12], 'float32'] }),
    labels: () => randInts([4], 4, 5),
    sparse: ['head.w', 'layers.1.b'],
    ops: ['matmul', 'relu', 'tanh'],
  },
  {
    name: 'CNN (conv, grouped conv, max/avg pool, gelu, mean, dense)',
    apply: cnnApply,
    params: () => cnnParams(),
    input: () => ({ x: randArray([2, 3, 8, 8], 5), spec: [[2, 3, 8, 8], 'float32'] }),
    labels: () => randInts([2], 6, 10),
    sparse: ['conv2.w', 'dense.b'],
    ops: ['conv2d', 'max_pool2d', 'avg_pool2d', 'gelu', 'reduce_mean'],
  },
  {
    name: 'decoder (transposed convs: stride 2 SAME, stride 2 VALID with rhs dilation, 1-D)',
    apply: decApply,
    params: () => decParams(),
    input: () => ({ x: randArray([2, 3, 4, 4], 32), spec: [[2, 3, 4, 4], 'float32'] }),
    labels: () => randInts([2], 33, 4),
    sparse: ['up2.w', 'dense.b'],
    ops: ['conv2d', 'conv2d_grad_input'],
  },
  {
    name: 'transformer (gather embedding, layernorm, causal attention, GELU MLP)',
    apply: tfApply,
    params: () => tfParams(),
    input: () => ({ x: randInts([2, TF.seq], 8, TF.vocab), spec: [[2, TF.seq], 'int32'] }),
    labels: () => randInts([2, TF.seq], 9, TF.vocab),
    sparse: ['blocks.1.w1', 'blocks.1.ln2.g', 'head.b'],
    ops: ['gather', 'matmul', 'gelu', 'reduce_mean', 'sqrt', 'softmax'],
  },
];

describe.each(CASES)('$name', (c) => {
  it('loss, logits and all gradients match jax-js grad; sparse subsets match too', async () => {
    const params = c.params();
    const { x, spec } = c.input();
    const labels = c.labels();
    const imp = traceJax(c.apply, params, { x: spec });
    const ops = new Set(imp.graph.nodes.map((n) => n.op));
    for (const op of c.ops) expect(ops, `imports to ${op}`).toContain(op);

    const ref = jaxSide(c.apply, params, x, labels);
    const feeds = { x: hostTensor(x), labels: labelTensor(labels) };
    expectParity(await ourSide(imp.graph, feeds), ref);
    const sparse = await ourSide(imp.graph, feeds, c.sparse);
    expectParity(sparse, ref, c.sparse);

    // tracing and grad left the user's arrays alive
    for (const leaf of tree.leaves(params as never) as JaxArray[]) expect(leaf.refCount).toBe(1);
    tree.dispose(params as never);
    x.dispose();
    labels.dispose();
  });
});
