/** `pockengine inspect MODEL [--shape NAME=8x3x128x128 ...] [--ir] [--json]` */
import { OPS, PockError, compileTrainingGraph, printGraph, size, byteSize, type Graph, type OpDef, type OpName } from '@pockengine/core';
import { flag, shapes, type Args } from '../args.js';
import { fmtBytes } from '../args.js';
import { loadModel } from '../load-model.js';
import { lossFromArgs } from '../options.js';

export function graphFlops(g: Graph): number {
  let flops = 0;
  for (const n of g.nodes) {
    const def = (OPS as unknown as Record<OpName, OpDef>)[n.op as OpName];
    flops += def.cost(n.inputs.map((i) => g.values[i]!), n.outputs.map((o) => g.values[o]!), n.attrs).flops;
  }
  return flops;
}

export async function inspect(a: Args): Promise<number> {
  const path = a.positional[0];
  if (!path) throw new Error('usage: pockengine inspect MODEL [--shape NAME=8x3x128x128 ...] [--ir] [--json]');
  let m;
  try {
    m = await loadModel(path, { shapes: shapes(a) });
  } catch (e) {
    if (e instanceof PockError && e.code === 'unsupported-op') {
      console.log(`${path}: cannot be imported completely.\nunsupported ops:\n${e.message}`);
      return 1;
    }
    throw e;
  }
  const g = m.graph;
  if (flag(a, 'ir')) {
    console.log(printGraph(g));
    return 0;
  }
  const hist = new Map<string, number>();
  for (const n of g.nodes) hist.set(n.op, (hist.get(n.op) ?? 0) + 1);
  const params = g.values.filter((v) => v.role === 'param');
  const buffers = g.values.filter((v) => v.role === 'buffer');
  const count = params.reduce((s, v) => s + size(v.shape), 0);
  const bytes = params.reduce((s, v) => s + size(v.shape) * byteSize(v.dtype), 0);
  const forward = graphFlops(g);
  let step: number | string;
  try {
    step = graphFlops(compileTrainingGraph(g, { loss: lossFromArgs(a, g), optimizer: { kind: 'sgd', lr: 0.01 } }).graph);
  } catch (e) {
    step = `n/a (${(e as Error).message})`;
  }
  const report = {
    model: path,
    kind: m.kind,
    source: m.describe,
    inputs: g.inputs.map((i) => ({ name: g.values[i]!.name, dtype: g.values[i]!.dtype, shape: g.values[i]!.shape })),
    outputs: g.outputs.map((o) => ({ name: o.name, dtype: g.values[o.value]!.dtype, shape: g.values[o.value]!.shape })),
    ops: Object.fromEntries([...hist].sort((x, y) => y[1] - x[1])),
    nodes: g.nodes.length,
    parameters: { tensors: params.length, count, bytes },
    buffers: buffers.length,
    flops: { forward, trainingStep: step },
    unsupportedOps: [] as string[],
  };
  if (flag(a, 'json')) {
    console.log(JSON.stringify(report, null, 2));
    return 0;
  }
  console.log(`${path} (${m.describe})`);
  for (const i of report.inputs) console.log(`  input  ${i.name}: ${i.dtype}[${i.shape.join(',')}]`);
  for (const o of report.outputs) console.log(`  output ${o.name}: ${o.dtype}[${o.shape.join(',')}]`);
  console.log(`  parameters: ${count.toLocaleString('en')} in ${params.length} tensors (${fmtBytes(bytes)}), ${buffers.length} buffers`);
  console.log(`  FLOPs: forward ${(forward / 1e9).toFixed(3)} G, training step (full backprop + SGD) ${typeof step === 'number' ? `${(step / 1e9).toFixed(3)} G` : step}`);
  console.log(`  IR ops (${g.nodes.length}): ${[...hist].sort((x, y) => y[1] - x[1]).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  console.log('  unsupported ops: none');
  return 0;
}
