/**
 * Sparse backpropagation and training-graph optimizations, asserted on structure (which ops
 * remain, what is saved, where updates run, planned bytes) as well as on numbers.
 */
import {
  GraphBuilder,
  Program,
  compileTrainingGraph,
  nn,
  parseScheme,
  randn,
  tensor,
  type Graph,
  type Tensor,
  type TrainingOptions,
} from '@pockengine/core';
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../src/index.js';

/** conv-BN(frozen)-relu x3 + linear head, float64, like the trunk of a MobileNet. */
function cnn(): Graph {
  const b = new GraphBuilder('cnn');
  const x = b.input('x', 'float64', [2, 3, 8, 8]);
  let h = x;
  for (let i = 0; i < 3; i++) {
    h = nn.conv2d(b, h, 4 + 2 * i, `blocks.${i}.conv`, { kernel: 3, stride: i === 0 ? 1 : 2, bias: false, seed: 10 + i });
    h = nn.relu(b, nn.batchNorm(b, h, `blocks.${i}.bn`, false));
  }
  b.output('logits', nn.dense(b, nn.globalAvgPool(b, h), 5, 'head', { seed: 20 }));
  const g = b.build();
  // non-trivial running statistics so that folding is exercised for real
  for (const v of g.values) {
    if (v.name.endsWith('running_mean')) (g.init as Map<number, Tensor>).set(v.id, randn(v.shape, v.id, 0.1, 'float64'));
    if (v.name.endsWith('running_var')) (g.init as Map<number, Tensor>).set(v.id, tensor('float64', v.shape, Array.from(randn(v.shape, v.id, 0.2, 'float64').data as Float64Array, (d) => 1 + Math.abs(d))));
  }
  return g;
}

const feeds = () => ({ x: randn([2, 3, 8, 8], 5, 1, 'float64'), labels: tensor('int64', [2], [1, 3]) });

async function grads(model: Graph, opts: Omit<TrainingOptions, 'loss'>) {
  const { graph } = compileTrainingGraph(model, { loss: { kind: 'cross-entropy' }, ...opts });
  return { graph, out: await Program.create(graph, new CpuBackend()).step(feeds()) };
}

const ops = (g: Graph) => g.nodes.map((n) => n.op);
const count = (g: Graph, op: string) => ops(g).filter((o) => o === op).length;
const maxDiff = (a: Tensor, b: Tensor) => Math.max(...Array.from(a.data as Float64Array, (v, i) => Math.abs(v - Number(b.data[i]))));

describe('sparse backpropagation', () => {
  const model = cnn();
  const scheme = parseScheme({
    rules: [
      { params: 'head.*', update: 'full' },
      { params: 'blocks.2.conv.weight', update: { channels: 0.5 } },
      { params: 'blocks.*.bn.bias', update: 'full' },
    ],
  });

  it('gives the full program’s gradients for the trained parameters', async () => {
    const full = await grads(model, { optimize: false });
    const sparse = await grads(model, { scheme });
    expect(Math.abs(Number(sparse.out.loss!.data[0]) - Number(full.out.loss!.data[0]))).toBeLessThan(1e-12);
    for (const name of ['head.weight', 'head.bias', 'blocks.0.bn.bias', 'blocks.1.bn.bias', 'blocks.2.bn.bias']) {
      expect(maxDiff(sparse.out[`grad.${name}`]!, full.out[`grad.${name}`]!), name).toBeLessThan(1e-10);
    }
    // channel-sparse: the first half of the rows equal the full gradient, the rest are zero
    const gs = sparse.out['grad.blocks.2.conv.weight']!.data as Float64Array;
    const gf = full.out['grad.blocks.2.conv.weight']!.data as Float64Array;
    const per = gs.length / 8;
    for (let i = 0; i < gs.length; i++) expect(Math.abs(gs[i]! - (i < 4 * per ? gf[i]! : 0))).toBeLessThan(1e-10);
    expect(sparse.out['grad.blocks.0.conv.weight']).toBeUndefined();
  });

  it('prunes the backward graph to what the trained parameters need', async () => {
    const full = (await grads(model, { optimize: false })).graph;
    const sparse = (await grads(model, { scheme })).graph;
    // full: a weight gradient per conv and input gradients below each conv except the first
    expect(count(full, 'conv2d_grad_weight')).toBe(3);
    expect(count(full, 'conv2d_grad_input')).toBe(2);
    // sparse: one (channel-restricted) weight gradient; input gradients still flow to the lower
    // BN shifts, but never below the lowest trained parameter (blocks.0.bn.bias)
    expect(count(sparse, 'conv2d_grad_weight')).toBe(1);
    const gw = sparse.nodes.find((n) => n.op === 'conv2d_grad_weight')!;
    expect((gw.attrs as { weightShape: number[] }).weightShape).toEqual([4, 6, 3, 3]);
    expect(count(sparse, 'conv2d_grad_input')).toBe(2);
    // frozen BN folded into the frozen convs; only the BN after the (partly) trained conv stays
    expect(count(full, 'batch_norm')).toBe(3);
    expect(count(sparse, 'batch_norm')).toBe(1);
    expect(sparse.nodes.find((n) => n.op === 'batch_norm')!.name).toBe('blocks.2.bn');
    expect(count(sparse, 'batch_norm_grad')).toBe(1);
  });

  it('keeps no input activation for bias-only layers', async () => {
    const biasOnly = parseScheme({ rules: [{ params: '*bn.bias', update: 'full' }, { params: 'head.bias', update: 'full' }] });
    const { graph } = compileTrainingGraph(model, { loss: { kind: 'cross-entropy' }, scheme: biasOnly, optimizer: { kind: 'sgd', lr: 0.1 } });
    // no weight gradient at all, and the input image is never read by a backward op
    expect(count(graph, 'conv2d_grad_weight')).toBe(0);
    const x = graph.inputs.find((i) => graph.values[i]!.name === 'x')!;
    expect(graph.nodes.filter((n) => n.name.startsWith('grad(') && n.inputs.includes(x))).toEqual([]);
    // nothing below blocks.0's shift is differentiated: one conv2d_grad_input per block above it
    expect(count(graph, 'conv2d_grad_input')).toBe(2);
  });

  it('runs each update as soon as its gradient is ready, in place', () => {
    const { graph } = compileTrainingGraph(model, { loss: { kind: 'cross-entropy' }, scheme, optimizer: { kind: 'sgd', lr: 0.1 } });
    const idx = (pred: (n: Graph['nodes'][number]) => boolean) => graph.nodes.findIndex(pred);
    const headUpdate = idx((n) => n.name === 'update(head.weight)');
    // plain SGD of a matmul's weight: the update is the weight-gradient GEMM's epilogue
    expect(graph.nodes[headUpdate]!.op).toBe('matmul_sgd_update');
    const lastBackward = graph.nodes.length - 1 - [...graph.nodes].reverse().findIndex((n) => n.name.startsWith('grad('));
    expect(headUpdate).toBeGreaterThan(0);
    expect(headUpdate).toBeLessThan(lastBackward);
    const p = Program.create(graph, new CpuBackend());
    // every parameter update writes its weight in place: nothing is copied at the end of a step
    expect(p.plan.copies.filter((u) => graph.values[u.target]!.role === 'param')).toEqual([]);
  });

  it('writes elementwise results over temporaries that die there (masked gradients, activations)', async () => {
    const { graph } = compileTrainingGraph(model, { loss: { kind: 'cross-entropy' }, scheme, optimizer: { kind: 'sgd', lr: 0.1 } });
    const p = Program.create(graph, new CpuBackend());
    const temps = [...p.plan.aliases].filter(([, target]) => p.plan.values.get(target)!.role === 'node');
    // each relu backward (where(mask, dy, 0)) reuses dy's buffer
    const masked = graph.nodes.filter((n) => n.op === 'where' && n.name.startsWith('grad('));
    expect(masked.length).toBeGreaterThan(0);
    for (const n of masked) expect(temps).toContainEqual([n.outputs[0]!, n.inputs[1]!]);
    for (const [v, t] of temps) {
      expect(p.plan.memory.offsets.has(v)).toBe(false); // no buffer of its own
      expect(p.plan.values.get(v)!.bytes).toBe(p.plan.values.get(t)!.bytes);
    }
    // the same numbers as the unoptimized program, which writes nothing in place
    const a = await Program.create(compileTrainingGraph(model, { loss: { kind: 'cross-entropy' }, scheme }).graph, new CpuBackend(undefined, { poisonOutputs: true })).step(feeds());
    const b = await Program.create(compileTrainingGraph(model, { loss: { kind: 'cross-entropy' }, scheme, optimize: false }).graph, new CpuBackend()).step(feeds());
    for (const k of Object.keys(b)) expect(maxDiff(a[k]!, b[k]!), k).toBeLessThan(1e-10);
  });

  it('allocates exactly the planned peak', async () => {
    for (const s of [undefined, scheme]) {
      const { graph } = compileTrainingGraph(model, { loss: { kind: 'cross-entropy' }, scheme: s, optimizer: { kind: 'adam', lr: 0.01 } });
      const be = new CpuBackend();
      const p = Program.create(graph, be);
      await p.step(feeds());
      await p.step(feeds());
      expect(be.peakBytes()).toBe(p.plan.memory.peakBytes);
      expect(be.allocatedBytes()).toBe(p.plan.memory.peakBytes);
      expect(p.plan.memory.arenaBytes).toBeGreaterThanOrEqual(p.plan.memory.liveBytesMax);
    }
  });

  it('uses less memory for the sparse program than for full backprop', () => {
    const plan = (s?: typeof scheme) =>
      Program.create(compileTrainingGraph(model, { loss: { kind: 'cross-entropy' }, scheme: s, optimizer: { kind: 'sgd', lr: 0.1, momentum: 0.9 } }).graph, new CpuBackend()).plan.memory;
    const full = plan();
    const sparse = plan(scheme);
    expect(sparse.arenaBytes).toBeLessThan(full.arenaBytes);
    expect(sparse.breakdown.optimizerState).toBeLessThan(full.breakdown.optimizerState);
  });

  it('trains with a channel-sparse scheme: frozen rows never move', async () => {
    const { graph } = compileTrainingGraph(model, { loss: { kind: 'cross-entropy' }, scheme, optimizer: { kind: 'sgd', lr: 0.5, momentum: 0.9 } });
    const p = Program.create(graph, new CpuBackend());
    const w0 = (await p.read('blocks.2.conv.weight')).data.slice() as Float64Array;
    const losses: number[] = [];
    for (let i = 0; i < 15; i++) losses.push(Number((await p.step(feeds())).loss!.data[0]));
    const w1 = (await p.read('blocks.2.conv.weight')).data as Float64Array;
    const per = w0.length / 8;
    let moved = 0;
    for (let i = 0; i < w0.length; i++) {
      if (i >= 4 * per) expect(w1[i]).toBe(w0[i]);
      else if (w1[i] !== w0[i]) moved++;
    }
    expect(moved).toBeGreaterThan(0);
    expect(losses.at(-1)!).toBeLessThan(losses[0]! * 0.5);
    // the frozen first conv is untouched and still readable for export
    expect((await p.weights()).has('blocks.0.conv.weight')).toBe(true);
  });
});

describe('constant folding at bind time', () => {
  it('computes what depends only on frozen weights once, when the program is created', async () => {
    const b = new GraphBuilder('lin3d');
    const x = b.input('x', 'float64', [2, 3, 4]);
    const w = b.param('w', randn([5, 4], 1, 0.5, 'float64'));
    const w2 = b.param('w2', randn([2, 5], 2, 0.5, 'float64'));
    // a frozen weight scaled before use (weight normalisation, a folded constant factor, ...);
    // PyTorch exports a 3-D nn.Linear as Transpose(W) -> MatMul
    const h = b.scoped('l1', () => b.matmul(x, b.mul(w, b.scalarLike(0.5, w)), false, true));
    b.output('logits', b.scoped('l2', () => b.reduceSum(b.matmul(h, b.transpose(w2, [1, 0])), [1])));
    const model = b.build();
    const { graph } = compileTrainingGraph(model, { loss: { kind: 'cross-entropy' }, trainable: ['w2'], optimizer: { kind: 'sgd', lr: 0.1 } });
    const p = Program.create(graph, new CpuBackend());
    // w is frozen: its scaling is folded at bind time; w2 is trained: its transpose is folded into
    // the matmul (transB) at compile time, so no transpose runs at all
    expect(p.plan.initSteps.map((s) => `${s.op}@${s.name}`)).toEqual(['mul@l1']);
    expect(p.plan.steps.some((s) => s.kind === 'run' && s.op === 'transpose')).toBe(false);
    // the frozen weight is needed only to fold: it is released, so it and its transpose are never
    // both resident after binding, and the planned peak counts that
    const wId = graph.values.find((v) => v.name === 'w')!.id;
    expect(p.plan.initOnly.has(wId)).toBe(true);
    expect(p.plan.memory.initOnlyBytes).toBe(5 * 4 * 8 + 8); // w and the scalar 0.5
    const be = new CpuBackend();
    const q = Program.create(graph, be);
    const feeds = { x: randn([2, 3, 4], 9, 1, 'float64'), labels: tensor('int64', [2], [0, 1]) };
    await q.step(feeds);
    expect(be.peakBytes()).toBe(q.plan.memory.peakBytes);
    expect(be.allocatedBytes()).toBe(q.plan.memory.persistentBytes + q.plan.memory.arenaBytes);
    // same numbers as the program without optimizations, and the weight still reads back
    const plain = Program.create(compileTrainingGraph(model, { loss: { kind: 'cross-entropy' }, trainable: ['w2'], optimizer: { kind: 'sgd', lr: 0.1 }, optimize: false }).graph, new CpuBackend());
    const a = await p.step(feeds);
    const c = await plain.step(feeds);
    expect(Math.abs(Number(a.loss!.data[0]) - Number(c.loss!.data[0]))).toBeLessThan(1e-12);
    expect(Array.from((await p.read('w')).data as Float64Array)).toEqual(Array.from(model.init.get(wId)!.data as Float64Array));
  });
});

describe('replacing weights of a program with folded constants', () => {
  it('recomputes the folded values from the new weights', async () => {
    const b = new GraphBuilder('fold');
    const x = b.input('x', 'float64', [1, 2]);
    const w = b.param('w', tensor('float64', [2, 2], [1, 2, 3, 4]));
    b.output('y', b.matmul(x, b.transpose(w, [1, 0])));
    const p = Program.create(b.build(), new CpuBackend());
    expect(p.plan.initSteps).toHaveLength(1);
    const feeds = { x: tensor('float64', [1, 2], [1, 1]) };
    expect(Array.from((await p.step(feeds)).y!.data as Float64Array)).toEqual([3, 7]);
    p.setWeights(new Map([['w', tensor('float64', [2, 2], [10, 20, 30, 40])]]));
    expect(Array.from((await p.step(feeds)).y!.data as Float64Array)).toEqual([30, 70]);
  });
});

describe('conv + activation fusion', () => {
  it('fuses conv + relu wherever no backward op reads the pre-activation', async () => {
    const model = cnn();
    const headOnly = parseScheme({ rules: [{ params: 'head.*', update: 'full' }] });
    const lastBlock = parseScheme({ rules: [{ params: 'head.*', update: 'full' }, { params: 'blocks.2.bn.bias', update: 'full' }] });
    const fused = (s: typeof headOnly) =>
      compileTrainingGraph(model, { loss: { kind: 'cross-entropy' }, scheme: s, optimizer: { kind: 'sgd', lr: 0.1 }, microBatches: 1 }).graph.nodes.filter(
        (n) => n.op === 'conv2d' && (n.attrs as { activation?: string }).activation === 'relu',
      ).length;
    expect(fused(headOnly)).toBe(3);
    // blocks.2's shift is trained: it joins the folded conv bias, and the backward pass reads the
    // relu's output mask, not the conv output, so that conv fuses too
    expect(fused(lastBlock)).toBe(3);
    // a trained conv weight keeps its BN (not folded): the BN takes the relu instead
    const trainedConv = parseScheme({ rules: [{ params: 'head.*', update: 'full' }, { params: 'blocks.2.conv.weight', update: 'full' }] });
    expect(fused(trainedConv)).toBe(2);
    const bnFused = compileTrainingGraph(model, { loss: { kind: 'cross-entropy' }, scheme: trainedConv, optimizer: { kind: 'sgd', lr: 0.1 } }).graph.nodes.filter(
      (n) => n.op === 'batch_norm' && (n.attrs as { activation?: string }).activation === 'relu',
    );
    expect(bnFused.map((n) => n.name)).toEqual(['blocks.2.bn']);
    // same numbers as the unfused program
    const feedsNow = feeds();
    const a = await Program.create(compileTrainingGraph(model, { loss: { kind: 'cross-entropy' }, scheme: headOnly }).graph, new CpuBackend()).step(feedsNow);
    const b = await Program.create(compileTrainingGraph(model, { loss: { kind: 'cross-entropy' }, scheme: headOnly, optimize: false }).graph, new CpuBackend()).step(feedsNow);
    expect(Math.abs(Number(a.loss!.data[0]) - Number(b.loss!.data[0]))).toBeLessThan(1e-12);
    expect(maxDiff(a['grad.head.weight']!, b['grad.head.weight']!)).toBeLessThan(1e-12);
  });
});

describe('transposes folded into matmul', () => {
  /** PyTorch's nn.Linear as ONNX exports it on 3-D input: MatMul(x, Transpose(W)) with W [out, in]; two layers. */
  function linears(): Graph {
    const b = new GraphBuilder('linears');
    const x = b.input('x', 'float64', [2, 3, 4]);
    const w1 = b.param('l1.weight', randn([6, 4], 1, 0.5, 'float64'));
    const w2 = b.param('l2.weight', randn([5, 6], 2, 0.5, 'float64'));
    const h = b.op1('relu', [b.matmul(x, b.transpose(w1, [1, 0]))], {});
    // a batched transpose of an activation (K^T in attention) folds too: [2,3,6] x [2,6,3]^T... via h h^T
    const s = b.matmul(h, b.transpose(h, [0, 2, 1]));
    const y = b.add(b.matmul(h, b.transpose(w2, [1, 0])), b.reduceSum(s, [2], true));
    b.output('logits', y);
    return b.build();
  }
  const feed = () => ({ x: randn([2, 3, 4], 7, 1, 'float64'), labels: tensor('int64', [2, 3], [0, 4, 2, 1, 3, 0]) });

  it('leaves no transpose, and gives the unoptimized program’s loss and gradients', async () => {
    const model = linears();
    const opt = compileTrainingGraph(model, { loss: { kind: 'cross-entropy' } }).graph;
    const plain = compileTrainingGraph(model, { loss: { kind: 'cross-entropy' }, optimize: false }).graph;
    expect(count(plain, 'transpose')).toBeGreaterThan(0);
    expect(count(opt, 'transpose')).toBe(0);
    const a = await Program.create(opt, new CpuBackend()).step(feed());
    const p = await Program.create(plain, new CpuBackend()).step(feed());
    for (const k of ['loss', 'grad.l1.weight', 'grad.l2.weight']) {
      expect(a[k]!.shape).toEqual(p[k]!.shape);
      expect(maxDiff(a[k]!, p[k]!)).toBeLessThan(1e-12);
    }
  });
});

describe('reshape of a dying temporary', () => {
  /** logits = reshape(x tanh(x)) w + sum(x tanh(x)); the sum reads the square before the reshape (it dies there) or after it. */
  function model(sumAfter: boolean): Graph {
    const b = new GraphBuilder('reshape-view');
    const x = b.input('x', 'float64', [2, 3, 4]);
    const w = b.param('w', randn([4, 5], 3, 0.5, 'float64'));
    const sq = b.mul(x, b.op1('tanh', [x], {}));
    const total = () => b.reduceSum(sq, [0, 1, 2], false);
    const before = sumAfter ? undefined : total();
    const flat = b.reshape(sq, [6, 4]);
    const after = sumAfter ? total() : undefined;
    b.output('logits', b.add(b.matmul(flat, w), (before ?? after)!));
    return b.build();
  }
  const feed = () => ({ x: randn([2, 3, 4], 11, 1, 'float64'), labels: tensor('int64', [6], [0, 1, 2, 3, 4, 0]) });

  it('is a view of the same bytes (no copy), with the copying program’s numbers', async () => {
    const compile = (after: boolean) => compileTrainingGraph(model(after), { loss: { kind: 'cross-entropy' }, optimizer: { kind: 'sgd', lr: 0.1 } }).graph;
    const viewed = Program.create(compile(false), new CpuBackend(undefined, { poisonOutputs: true }));
    const copied = Program.create(compile(true), new CpuBackend(undefined, { poisonOutputs: true }));
    const reshapeOf = (p: typeof viewed) => {
      const s = p.plan.steps.find((t) => t.kind === 'run' && t.op === 'reshape' && p.plan.values.get(t.outputs[0]!)!.shape.length === 2);
      if (!s || s.kind !== 'run') throw new Error('no reshape');
      return s;
    };
    const rv = reshapeOf(viewed);
    const rc = reshapeOf(copied);
    expect(viewed.plan.aliases.get(rv.outputs[0]!)).toBe(rv.inputs[0]);
    expect(copied.plan.aliases.has(rc.outputs[0]!)).toBe(false);
    for (let step = 0; step < 2; step++) {
      const a = await viewed.step(feed());
      const c = await copied.step(feed());
      expect(a.loss!.data[0]).toBe(c.loss!.data[0]);
    }
    expect(Array.from((await viewed.read('w')).data as Float64Array)).toEqual(Array.from((await copied.read('w')).data as Float64Array));
  });
});

describe('the SGD update as the weight-gradient GEMM epilogue', () => {
  /** Two dense layers (2-D weights, one used transposed as PyTorch's nn.Linear), trained with plain SGD. */
  function mlp(): Graph {
    const b = new GraphBuilder('mlp');
    const x = b.input('x', 'float64', [6, 5]);
    const w1 = b.param('l1.weight', randn([7, 5], 1, 0.5, 'float64'));
    const w2 = b.param('l2.weight', randn([7, 4], 2, 0.5, 'float64'));
    const h = b.op1('tanh', [b.matmul(x, b.transpose(w1, [1, 0]))], {});
    b.output('logits', b.matmul(h, w2));
    return b.build();
  }
  const feed = () => ({ x: randn([6, 5], 3, 1, 'float64'), labels: tensor('int64', [6], [0, 1, 2, 3, 0, 1]) });

  it('fuses plain SGD only, updates in place and trains exactly like the unfused program', async () => {
    const model = mlp();
    const sgd = compileTrainingGraph(model, { loss: { kind: 'cross-entropy' }, optimizer: { kind: 'sgd', lr: 0.1 } }).graph;
    expect(count(sgd, 'matmul_sgd_update')).toBe(2);
    expect(count(sgd, 'sgd_update')).toBe(0);
    // momentum and weight decay keep the separate update (its state / decay term is not a GEMM epilogue)
    expect(count(compileTrainingGraph(model, { loss: { kind: 'cross-entropy' }, optimizer: { kind: 'sgd', lr: 0.1, momentum: 0.9 } }).graph, 'matmul_sgd_update')).toBe(0);
    expect(count(compileTrainingGraph(model, { loss: { kind: 'cross-entropy' }, optimizer: { kind: 'sgd', lr: 0.1, weightDecay: 0.01 } }).graph, 'matmul_sgd_update')).toBe(0);
    const plain = compileTrainingGraph(model, { loss: { kind: 'cross-entropy' }, optimizer: { kind: 'sgd', lr: 0.1 }, optimize: false }).graph;
    const fused = Program.create(sgd, new CpuBackend(undefined, { poisonOutputs: true }));
    const ref = Program.create(plain, new CpuBackend());
    expect(fused.plan.copies.filter((u) => sgd.values[u.target]!.role === 'param')).toEqual([]);
    for (let step = 0; step < 3; step++) {
      const a = await fused.step(feed());
      const c = await ref.step(feed());
      expect(Math.abs(Number(a.loss!.data[0]) - Number(c.loss!.data[0]))).toBeLessThan(1e-12);
    }
    for (const w of ['l1.weight', 'l2.weight']) expect(maxDiff(await fused.read(w), await ref.read(w))).toBeLessThan(1e-12);
  });
});
