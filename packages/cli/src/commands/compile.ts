/**
 * `pockengine compile MODEL --shape ... [--scheme S] [--optimizer sgd|adam] [--batch N] [--json]`
 * Prints the static memory plan of one training step: peak bytes and what they hold, and the
 * backward ops that sparse backpropagation pruned (against full backprop of the same model).
 */
import { Program, compileTrainingGraph, nodePhase, type Graph, type MemoryPlan } from '@pockengine/core';
import type { KernelChoice } from '@pockengine/backend-cpu';
import { borrowFromArgs, makeBackend } from '../backends.js';
import { flag, fmtBytes, oneOf, shapes, type Args } from '../args.js';
import { loadModel } from '../load-model.js';
import { lossFromArgs, optimizerFromArgs, schemeFromArgs, withBatch } from '../options.js';

function backwardHistogram(g: Graph): Map<string, number> {
  const h = new Map<string, number>();
  for (const n of g.nodes) if (nodePhase(n.name) === 'backward') h.set(n.op, (h.get(n.op) ?? 0) + 1);
  return h;
}

export interface CompileReport {
  model: string;
  scheme: string;
  optimizer: string;
  trainedParams: number;
  trainedTensors: number;
  ops: { forward: number; backward: number; update: number };
  memory: Omit<MemoryPlan, 'offsets' | 'lifetimes'>;
  prunedBackwardOps: Record<string, number>;
  /** Backend switching: the implementation chosen for each op instance and the times (ms) that decided it. */
  kernels: { backend: string; byImpl: Record<string, number>; choices: KernelChoice[] };
}

export async function compileReport(a: Args): Promise<CompileReport> {
  const path = a.positional[0];
  if (!path) throw new Error('usage: pockengine compile MODEL --shape NAME=8x3x96x96 [--scheme S.json] [--optimizer sgd|adam] [--batch N] [--json]');
  let m = await loadModel(path, { shapes: shapes(a) });
  const batched = withBatch(shapes(a), a, m.graph.inputs.map((i) => m.graph.values[i]!.name), (n) => m.graph.values.find((v) => v.name === n && v.role === 'input')?.shape);
  if (JSON.stringify(batched) !== JSON.stringify(shapes(a))) m = await loadModel(path, { shapes: batched });
  const g = m.graph;
  const loss = lossFromArgs(a, g);
  const optimizer = optimizerFromArgs(a);
  const scheme = schemeFromArgs(a);
  const sparse = compileTrainingGraph(g, { loss, optimizer, scheme });
  const full = scheme ? compileTrainingGraph(g, { loss, optimizer }) : sparse;
  const backend = await makeBackend(oneOf(a, 'backend', ['cpu', 'cpu-reference'] as const, 'cpu'), borrowFromArgs(a));
  const plan = Program.create(sparse.graph, backend).plan;
  const fullH = backwardHistogram(full.graph);
  const sparseH = backwardHistogram(sparse.graph);
  const pruned: Record<string, number> = {};
  for (const [op, k] of fullH) if (k > (sparseH.get(op) ?? 0)) pruned[op] = k - (sparseH.get(op) ?? 0);
  const phases = { forward: 0, backward: 0, update: 0 };
  for (const n of sparse.graph.nodes) phases[nodePhase(n.name)]++;
  const { offsets: _o, lifetimes: _l, ...memory } = plan.memory;
  let trainedParams = 0;
  for (const [id, u] of sparse.updates) {
    const shape = g.values[id]!.shape;
    const per = shape.slice(1).reduce((p, d) => p * d, 1);
    trainedParams += u.kind === 'full' ? per * (shape[0] ?? 1) : per * u.rows.length;
  }
  return {
    model: path,
    scheme: scheme ? `${scheme.rules.length} rules` : 'full backprop',
    optimizer: optimizer.kind,
    trainedParams,
    trainedTensors: sparse.trained.length,
    ops: phases,
    memory,
    prunedBackwardOps: pruned,
    kernels: {
      backend: backend.name,
      byImpl: backend.choices.reduce<Record<string, number>>((m, c) => ((m[c.impl] = (m[c.impl] ?? 0) + 1), m), {}),
      choices: backend.choices.filter((c) => c.timesMs),
    },
  };
}

export async function compile(a: Args): Promise<number> {
  const r = await compileReport(a);
  if (flag(a, 'json')) {
    console.log(JSON.stringify(r, null, 2));
    return 0;
  }
  console.log(`${r.model}: ${r.scheme}, ${r.optimizer}; ${r.trainedTensors} tensors (${r.trainedParams.toLocaleString('en')} weights) trained`);
  console.log(`  ops: ${r.ops.forward} forward, ${r.ops.backward} backward, ${r.ops.update} update`);
  console.log(`  peak ${fmtBytes(r.memory.peakBytes)} = arena ${fmtBytes(r.memory.arenaBytes)} + persistent ${fmtBytes(r.memory.persistentBytes)}`);
  for (const [k, v] of Object.entries(r.memory.breakdown)) console.log(`    ${k.padEnd(17)} ${fmtBytes(v)}`);
  console.log(`  kernels (${r.kernels.backend}): ${Object.entries(r.kernels.byImpl).map(([k, v]) => `${k} ${v}`).join(', ')}; ${r.kernels.choices.length} instances measured`);
  const pr = Object.entries(r.prunedBackwardOps);
  if (pr.length) console.log(`  pruned backward ops: ${pr.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  return 0;
}
