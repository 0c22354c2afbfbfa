/**
 * `pockengine train MODEL --data DIR | --input NAME=X.npy ... --labels Y.npy [--scheme S.json]
 *  [--epochs N] [--batch N] [--optimizer sgd|adam] [--lr X] [--val 0.2] [--out DIR]`
 *
 * Fine-tunes a user's model (.onnx, TF.js model.json or jax-js module) on a folder of images
 * (one subfolder per class) or on .npy arrays (a folder holding `<input name>.npy` and
 * `labels.npy`, or files named one by one), with a
 * progress bar, held-out accuracy before and after, step time, planned and measured peak
 * memory of the (sparse) program next to full backprop, and writes the tuned model in its own
 * format plus the loss curve.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { backendFactory, borrowFromArgs } from '../backends.js';
import { PockError, compileTrainingGraph, fineTune, lowerToPlan, splitDataset, type Dataset, type Tensor } from '@pockengine/core';
import { fmtBytes, namedFiles, num, one, oneOf, type Args } from '../args.js';
import { isImageFolder, loadImageFolder } from '../images.js';
import { lineChartSvg } from '../chart.js';
import { loadModel, probeInputs, writeOut } from '../load-model.js';
import { lossFromArgs, optimizerFromArgs, schemeFromArgs } from '../options.js';
import { Progress } from '../progress.js';
import { readNpyFile } from './grad.js';

async function readData(a: Args, path: string): Promise<Dataset> {
  const dir = one(a, 'data');
  if (dir && isImageFolder(dir)) {
    // the model's first input, its layout and resolution (or --res for dynamic sizes)
    const [inp] = await probeInputs(path);
    if (!inp || inp.dims.length !== 4) throw new PockError('input', `an image folder needs a model whose first input is an image batch; '${path}' takes ${JSON.stringify(inp?.dims)}`);
    const nhwc = inp.dims[3] === 1 || inp.dims[3] === 3;
    const [h, w, c] = nhwc ? [inp.dims[1], inp.dims[2], inp.dims[3]] : [inp.dims[2], inp.dims[3], inp.dims[1]];
    const res = num(a, 'res');
    const spec = {
      input: inp.name,
      layout: nhwc ? ('nhwc' as const) : ('nchw' as const),
      height: res ?? h ?? 224,
      width: res ?? w ?? 224,
      channels: c === 1 ? (1 as const) : (3 as const),
      normalize: oneOf(a, 'normalize', ['unit', 'imagenet'] as const, 'unit'),
    };
    const { data, classes } = loadImageFolder(dir, spec);
    console.log(`images: ${data.labels.shape[0]} in ${classes.length} classes (${classes.join(', ')}), ${spec.height}x${spec.width} ${spec.layout}`);
    return data;
  }
  if (dir) {
    if (!existsSync(join(dir, 'labels.npy')))
      throw new PockError('input', `'${dir}' holds no labels.npy: --data expects a folder with <input name>.npy files and labels.npy`, { file: dir });
    const inputs: Record<string, Tensor> = {};
    for (const f of readdirSync(dir)) if (f.endsWith('.npy') && f !== 'labels.npy') inputs[f.slice(0, -4)] = readNpyFile(join(dir, f));
    return { inputs, labels: readNpyFile(join(dir, 'labels.npy')) };
  }
  const labels = one(a, 'labels');
  if (!labels) throw new PockError('input', 'give --data DIR, or --input NAME=FILE.npy ... and --labels FILE.npy');
  return { inputs: Object.fromEntries(Object.entries(namedFiles(a, 'input')).map(([k, f]) => [k, readNpyFile(f)])), labels: readNpyFile(labels) };
}

export async function train(a: Args): Promise<number> {
  const path = a.positional[0];
  if (!path) throw new PockError('input', 'usage: pockengine train MODEL --data DIR [--scheme S.json] [--epochs N] [--batch N] [--out DIR]');
  const data = await readData(a, path);
  const batch = num(a, 'batch', 16)!;
  const epochs = num(a, 'epochs', 3)!;
  const shapes = Object.fromEntries(Object.entries(data.inputs).map(([k, t]) => [k, [batch, ...t.shape.slice(1)]]));
  const m = await loadModel(path, { shapes, batchNorm: 'frozen', dropout: 'off' });
  const loss = lossFromArgs(a, m.graph);
  const optimizer = optimizerFromArgs(a, 'sgd');
  const scheme = schemeFromArgs(a);
  const { train: trainSet, val } = splitDataset(data, num(a, 'val', 0.2)!, 7);
  const n = trainSet.labels.shape[0]!;
  if (n < batch) throw new PockError('input', `only ${n} training examples for a batch of ${batch}; lower --batch`);
  const full = lowerToPlan(compileTrainingGraph(m.graph, { loss, optimizer }).graph).memory;
  console.log(`${path}: ${m.describe}`);
  console.log(`training on ${n} examples (${val.labels.shape[0]} held out), batch ${batch}, ${epochs} epochs, ${optimizer.kind} lr ${optimizer.lr}, ${scheme ? `scheme with ${scheme.rules.length} rules` : 'full backprop'}`);
  const backend = await backendFactory('cpu', borrowFromArgs(a));
  const bar = new Progress('train', Math.floor(n / batch) * epochs);
  const res = await fineTune(m.graph, trainSet, {
    loss,
    optimizer,
    scheme,
    epochs,
    batch,
    val,
    backend,
    onStep: (s) => bar.update(s.step, `loss ${s.loss.toFixed(4)} ${s.ms.toFixed(0)} ms`),
  });
  bar.done();
  const med = [...res.stepMs].sort((x, y) => x - y)[res.stepMs.length >> 1] ?? NaN;
  const acc = (e?: { accuracy?: number; loss: number }) => (e ? (e.accuracy !== undefined ? `${(100 * e.accuracy).toFixed(1)}% accuracy, ` : '') + `loss ${e.loss.toFixed(4)}` : 'n/a');
  console.log(`held-out before: ${acc(res.before)}`);
  console.log(`held-out after:  ${acc(res.after)}`);
  console.log(`step time: median ${med.toFixed(1)} ms`);
  console.log(`peak memory: planned ${fmtBytes(res.memory.peakBytes)}, measured ${fmtBytes(res.measuredPeakBytes)}; full backprop would plan ${fmtBytes(full.peakBytes)} (${(full.peakBytes / res.memory.peakBytes).toFixed(1)}x)`);
  const out = one(a, 'out') ?? 'out/tuned';
  const files = await m.save(res.weights, out);
  const chart = join(out, 'loss.svg');
  writeOut(chart, lineChartSvg(`fine-tuning ${path}`, [{ name: scheme ? 'sparse scheme' : 'full backprop', values: res.losses }]));
  console.log(`wrote ${[...files, chart].join(', ')}`);
  return 0;
}
