import { describe, expect, it } from 'vitest';
import { GraphBuilder, compileTrainingGraph, gradients, printGraph, randn, verifyGraph, PockError, dce } from '../src/index.js';

function mlp() {
  const b = new GraphBuilder('mlp');
  const x = b.input('x', 'float32', [4, 3]);
  const w1 = b.param('w1', randn([3, 5], 1));
  const w2 = b.param('w2', randn([5, 2], 2));
  const h = b.scoped('fc1', () => b.matmul(x, w1));
  const y = b.scoped('fc2', () => b.matmul(h, w2));
  const loss = b.scoped('loss', () => b.op1('reduce_sum', [b.mul(y, y)], { axes: [0, 1], keepdims: false }));
  b.output('loss', loss);
  return { g: b.build(), x, w1, w2, loss };
}

describe('compile-time autodiff', () => {
  it('sums gradients of a value with several consumers (residual / tied weights)', () => {
    const b = new GraphBuilder('tied');
    const w = b.param('w', randn([3], 1));
    const y = b.add(b.mul(w, w), w); // w used three times
    const loss = b.reduceSum(y, [0]);
    const { graph, grads } = gradients(b.build(), loss, [w]);
    verifyGraph(graph);
    const gw = grads.get(w)!;
    // the gradient is an accumulation: an `add` joins the contributions
    const producer = graph.nodes.find((n) => n.outputs.includes(gw))!;
    expect(producer.op).toBe('add');
  });

  it('differentiates only what a trained parameter needs (frozen first layer)', () => {
    const { g, w1, w2, loss } = mlp();
    const fullRes = gradients(g, loss, [w1, w2]);
    const full = dce({ ...fullRes.graph, outputs: [...fullRes.grads.values()].map((value, i) => ({ name: `g${i}`, value })) });
    const { graph: partial, grads } = gradients(g, loss, [w2]);
    const pruned = dce({ ...partial, outputs: [{ name: 'g', value: grads.get(w2)! }] });
    const gradOps = (gr: typeof g) => gr.nodes.filter((n) => n.name.startsWith('grad(')).map((n) => `${n.name}:${n.op}`);
    // full backward has fc1's weight gradient; the partial one computes nothing for fc1 and
    // never forms the gradient of h (fc2's input), which only fc1 would need
    expect(gradOps(full)).toContain('grad(fc1):matmul');
    expect(gradOps(pruned).filter((s) => s.startsWith('grad(fc1)'))).toEqual([]);
    expect(gradOps(pruned).filter((s) => s === 'grad(fc2):matmul')).toHaveLength(1);
  });

  it('builds a gradient program whose outputs are named grad.<param>', () => {
    const { g } = mlp();
    const { graph, trained } = compileTrainingGraph(g, { loss: { kind: 'output', output: 'loss' }, trainable: ['w2'] });
    expect(trained).toHaveLength(1);
    expect(graph.outputs.map((o) => o.name)).toEqual(['loss', 'grad.w2']);
  });

  it('rejects unknown parameter names in a trainable list', () => {
    const { g } = mlp();
    expect(() => compileTrainingGraph(g, { loss: { kind: 'output', output: 'loss' }, trainable: ['nope'] })).toThrow(PockError);
  });

  it('prints a stable text form', () => {
    const { g } = mlp();
    expect(printGraph(g)).toMatchInlineSnapshot(`
      "graph mlp {
        input  %0: f32[4,3] "x"
        param  %1: f32[3,5] "w1"
        param  %2: f32[5,2] "w2"
        %3: f32[4,5] = matmul(%0, %1) {transA=false, transB=false}  # fc1
        %4: f32[4,2] = matmul(%3, %2) {transA=false, transB=false}  # fc2
        %5: f32[4,2] = mul(%4, %4)  # loss
        %6: f32[] = reduce_sum(%5) {axes=[0,1], keepdims=false}  # loss
        output "loss" = %6
      }"
    `);
  });
});

describe('builder type checks', () => {
  it('rejects mismatched matmul shapes with a located error', () => {
    const b = new GraphBuilder('bad');
    const x = b.input('x', 'float32', [4, 3]);
    const w = b.param('w', randn([4, 2], 1));
    try {
      b.scoped('layer.0', () => b.matmul(x, w));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(PockError);
      expect((e as PockError).code).toBe('shape');
      expect((e as PockError).message).toContain("matmul 'layer.0'");
    }
  });

  it('rejects broadcasting of incompatible shapes', () => {
    const b = new GraphBuilder('bad');
    const x = b.input('x', 'float32', [4, 3]);
    const y = b.input('y', 'float32', [2, 3]);
    expect(() => b.add(x, y)).toThrow(/do not broadcast/);
  });
});
