/**
 * `pockengine grad MODEL --input NAME=FILE.npy ... --labels FILE.npy [--loss cross-entropy|mse]
 *  [--bn train|frozen] [--scheme SCHEME.json] --out FILE.safetensors`
 *
 * Loss and gradients of one batch, dropout off. The output holds `loss` and one
 * `grad.<parameter name>` per trained parameter, named exactly as in the source model:
 * the contract a user checks us against their own framework with.
 */
import { readFileSync } from 'node:fs';
import { Program, PockError, compileTrainingGraph, readNpy, writeSafetensors, type Tensor } from '@pockengine/core';
import { CpuBackend } from '@pockengine/backend-cpu';
import { namedFiles, one, oneOf, type Args } from '../args.js';
import { loadModel, writeOut } from '../load-model.js';
import { lossFromArgs, schemeFromArgs } from '../options.js';

export function readNpyFile(path: string): Tensor {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new PockError('input', `cannot read '${path}': ${(e as Error).message}`, { file: path });
  }
  try {
    return readNpy(bytes);
  } catch (e) {
    if (e instanceof PockError) throw new PockError(e.code, e.message, { ...e.where, file: path });
    throw e;
  }
}

export async function grad(a: Args): Promise<number> {
  const path = a.positional[0];
  const out = one(a, 'out');
  const labelsFile = one(a, 'labels');
  if (!path || !out || !labelsFile) throw new PockError('input', 'usage: pockengine grad MODEL --input NAME=FILE.npy ... --labels FILE.npy --out FILE.safetensors');
  const inputs = Object.fromEntries(Object.entries(namedFiles(a, 'input')).map(([k, f]) => [k, readNpyFile(f)]));
  const labels = readNpyFile(labelsFile);
  const shapes = Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, [...t.shape]]));
  const m = await loadModel(path, { shapes, batchNorm: oneOf(a, 'bn', ['train', 'frozen'] as const, 'frozen'), dropout: 'off' });
  const loss = lossFromArgs(a, m.graph);
  if (loss.kind === 'cross-entropy' && labels.dtype !== 'int64' && labels.dtype !== 'int32')
    throw new PockError('input', `cross-entropy needs integer class labels, '${labelsFile}' holds ${labels.dtype}`, { file: labelsFile });
  const lossSpec = loss.kind === 'cross-entropy' ? { ...loss, labelDtype: labels.dtype as 'int32' | 'int64' } : loss;
  const { graph } = compileTrainingGraph(m.graph, { loss: lossSpec, scheme: schemeFromArgs(a) });
  const missing = graph.inputs.map((i) => graph.values[i]!.name).filter((n) => n !== 'labels' && !inputs[n]);
  if (missing.length) throw new PockError('input', `missing --input for: ${missing.join(', ')}`);
  const res = await Program.create(graph, new CpuBackend()).step({ ...inputs, labels });
  const tensors = new Map<string, Tensor>(Object.entries(res));
  writeOut(out, writeSafetensors(tensors, { generator: 'pockengine grad', model: path }));
  const nGrads = [...tensors.keys()].filter((k) => k.startsWith('grad.')).length;
  console.log(`loss ${Number(res.loss!.data[0]).toPrecision(7)}; ${nGrads} gradients written to ${out}`);
  return 0;
}
