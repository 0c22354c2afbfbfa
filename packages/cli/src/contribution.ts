/**
 * Per-parameter contribution scores for the budgeted scheme search: the squared gradient norm
 * of each parameter, averaged over a few batches (the loss decrease of one unit SGD step, to
 * first order). Without data, batches are synthetic: N(0,1) float inputs, uniform token ids and
 * labels — a proxy for the model's sensitivity, said as such in the report.
 */
import { Program, compileTrainingGraph, randn, rng, size, tensor, type Graph, type LossSpec, type Tensor } from '@pockengine/core';
import { CpuBackend } from '@pockengine/backend-cpu';

/**
 * Exclusive upper bound for synthetic ids of integer input `id`: the smallest table a gather
 * indexes with it (through reshapes, casts and other data movement), or 100 when none does.
 */
function idBound(g: Graph, id: number): number {
  const MOVES = new Set(['reshape', 'cast', 'transpose', 'expand', 'slice', 'squeeze', 'unsqueeze', 'concat']);
  let bound = 100;
  const seen = new Set<number>([id]);
  const todo = [id];
  while (todo.length) {
    const v = todo.pop()!;
    for (const n of g.nodes) {
      const at = n.inputs.indexOf(v);
      if (at < 0) continue;
      if (n.op === 'gather' && at === 1) {
        const data = g.values[n.inputs[0]!]!.shape;
        const axis = Number((n.attrs as { axis?: number }).axis ?? 0);
        bound = Math.min(bound, data[axis < 0 ? axis + data.length : axis]!);
      } else if (MOVES.has(n.op)) for (const o of n.outputs) if (!seen.has(o)) (seen.add(o), todo.push(o));
    }
  }
  return Math.max(1, bound);
}

export function syntheticBatch(g: Graph, loss: LossSpec, seed: number): Record<string, Tensor> {
  const feeds: Record<string, Tensor> = {};
  const r = rng(seed);
  for (const i of g.inputs) {
    const v = g.values[i]!;
    if (v.dtype === 'float32' || v.dtype === 'float64') feeds[v.name] = randn(v.shape, seed + i, 1, v.dtype);
    else {
      // integer inputs are token ids / masks: ids below the smallest table they index (at most 100)
      const bound = idBound(g, i);
      feeds[v.name] = tensor(v.dtype, v.shape, Array.from({ length: size(v.shape) }, () => (v.name.includes('mask') ? 1 : Math.floor(r() * bound))));
    }
  }
  const out = g.outputs.find((o) => o.name === (loss.output ?? g.outputs[0]!.name)) ?? g.outputs[0]!;
  const shape = g.values[out.value]!.shape;
  if (loss.kind === 'cross-entropy') {
    const classes = shape.at(-1)!;
    feeds.labels = tensor('int64', shape.slice(0, -1), Array.from({ length: size(shape.slice(0, -1)) }, () => Math.floor(r() * classes)));
  } else if (loss.kind === 'mse') feeds.labels = randn(shape, seed + 99, 1, g.values[out.value]!.dtype);
  return feeds;
}

export async function gradientContribution(g: Graph, loss: LossSpec, batches: readonly Record<string, Tensor>[]): Promise<Map<string, number>> {
  const { graph } = compileTrainingGraph(g, { loss });
  const prog = Program.create(graph, new CpuBackend());
  const score = new Map<string, number>();
  for (const feeds of batches) {
    const out = await prog.step(feeds);
    for (const [k, t] of Object.entries(out)) {
      if (!k.startsWith('grad.')) continue;
      let s = 0;
      for (const x of t.data as Float32Array) s += x * x;
      score.set(k.slice(5), (score.get(k.slice(5)) ?? 0) + s / batches.length);
    }
  }
  return score;
}
