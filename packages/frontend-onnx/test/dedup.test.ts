/**
 * torch.onnx.export deduplicates initializers with equal values (zero-initialized biases, BN
 * statistics) and re-creates each duplicate as Identity(initializer) under its own torch name.
 * Those are separate parameters in the source model: imported untied, they train separately and
 * export back as initializers of their own.
 */
import { CpuBackend } from '@pockengine/backend-cpu';
import { Program, compileTrainingGraph, readSafetensors, tensor, type Graph, type Tensor } from '@pockengine/core';
import { describe, expect, it } from 'vitest';
import { decodeModel, exportOnnx, exportWeights, importOnnx } from '../src/index.js';
import { buildModel, node } from './build.js';

/** y = (x W1^T + b1) W2^T + b2 where the exporter stored b2 as Identity(b1) (both zero at export). */
function deduped(): Uint8Array {
  return buildModel({
    nodes: [
      node('Identity', ['fc1.bias'], ['fc2.bias'], {}, 'dedup'),
      node('Gemm', ['x', 'fc1.weight', 'fc1.bias'], ['h'], { transB: 1 }, 'fc1'),
      node('Gemm', ['h', 'fc2.weight', 'fc2.bias'], ['y'], { transB: 1 }, 'fc2'),
    ],
    inputs: [['x', 'float32', [2, 3]]],
    outputs: ['y'],
    initializers: [
      ['fc1.weight', tensor('float32', [3, 3], [1, 0.5, -1, 0.25, 2, 0, -0.5, 1, 1.5])],
      ['fc1.bias', tensor('float32', [3], [0, 0, 0])],
      ['fc2.weight', tensor('float32', [3, 3], [0.5, -1, 2, 1, 1, -0.25, 0, 0.75, 1])],
    ],
  });
}

async function grads(g: Graph): Promise<Record<string, Tensor>> {
  const { graph } = compileTrainingGraph(g, { loss: { kind: 'cross-entropy', labelDtype: 'int64' } });
  const p = Program.create(graph, new CpuBackend());
  try {
    return await p.step({ x: tensor('float32', [2, 3], [1, 2, 3, -1, 0.5, 2]), labels: tensor('int64', [2], [0, 2]) });
  } finally {
    p.dispose();
  }
}

/** A float tensor's values as numbers. */
const nums = (t: Tensor): number[] => Array.from(t.data as Float32Array);

const params = (g: Graph) => g.values.filter((v) => v.role === 'param').map((v) => v.name).sort();

describe('deduplicated initializers (Identity copies)', () => {
  it('are separate parameters by default, each with its own gradient', async () => {
    const m = importOnnx(deduped());
    expect(params(m.graph)).toEqual(['fc1.bias', 'fc1.weight', 'fc2.bias', 'fc2.weight']);
    expect(m.params).toContain('fc2.bias');
    const g = await grads(m.graph);
    // fc2.bias's gradient is dL/dy summed over the batch; fc1.bias's is that pulled back through fc2.weight
    const dy = nums(g['grad.fc2.bias']!);
    const w2 = [0.5, -1, 2, 1, 1, -0.25, 0, 0.75, 1];
    const want1 = [0, 1, 2].map((j) => [0, 1, 2].reduce((s, i) => s + dy[i]! * w2[i * 3 + j]!, 0));
    nums(g['grad.fc1.bias']!).forEach((v, j) => expect(v).toBeCloseTo(want1[j]!, 5));
    expect(nums(g['grad.fc1.bias']!)).not.toEqual(dy);
  });

  it("'tie' keeps one shared weight whose gradient sums both uses", async () => {
    const untied = await grads(importOnnx(deduped()).graph);
    const m = importOnnx(deduped(), { identityInitializers: 'tie' });
    expect(params(m.graph)).toEqual(['fc1.bias', 'fc1.weight', 'fc2.weight']);
    const tied = nums((await grads(m.graph))['grad.fc1.bias']!);
    tied.forEach((v, j) => expect(v).toBeCloseTo(nums(untied['grad.fc1.bias']!)[j]! + nums(untied['grad.fc2.bias']!)[j]!, 5));
  });

  it('export writes an untied weight as its own initializer and drops its Identity', () => {
    const orig = deduped();
    const b2 = tensor('float32', [3], [0.5, -0.5, 1]);
    const out = exportOnnx(orig, new Map([['fc2.bias', b2]]));
    const d = decodeModel(out);
    expect(d.graph.nodes.map((n) => n.opType)).toEqual(['Gemm', 'Gemm']);
    expect(d.graph.initializers.map((t) => t.name).sort()).toEqual(['fc1.bias', 'fc1.weight', 'fc2.bias', 'fc2.weight']);
    const back = importOnnx(out);
    const v = back.graph.values.find((x) => x.name === 'fc2.bias')!;
    expect(Array.from(back.graph.init.get(v.id)!.data as Float32Array)).toEqual([0.5, -0.5, 1]);
    // fc1.bias untouched
    const v1 = back.graph.values.find((x) => x.name === 'fc1.bias')!;
    expect(Array.from(back.graph.init.get(v1.id)!.data as Float32Array)).toEqual([0, 0, 0]);
    // the weights file names every weight, the untied one with its update
    const w = readSafetensors(exportWeights(orig, new Map([['fc2.bias', b2]])));
    expect([...w.tensors.keys()].sort()).toEqual(['fc1.bias', 'fc1.weight', 'fc2.bias', 'fc2.weight']);
    expect(nums(w.tensors.get('fc2.bias')!)).toEqual([0.5, -0.5, 1]);
    expect(nums(w.tensors.get('fc1.bias')!)).toEqual([0, 0, 0]);
  });
});
