/**
 * Export back to TF.js: train an imported model a few steps with core's compileTraining on the
 * CPU backend, export the updated weights into model.json + one float32 shard, load that with
 * tf.loadLayersModel and check TF.js now predicts what we predict.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { compileTraining } from '@pockengine/core';
import { CpuBackend } from '@pockengine/backend-cpu';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportLayersModel, importLayersModel } from '../src/index.js';
import { loadTfjsModel, saveTfjsModel } from '../src/node.js';
import { expectClose, forward, randomInput, randomizeWeights, randomLabels, saveToMemory, softmaxRows, tf, toTf, useCpu } from './helpers.js';

beforeAll(useCpu);

type ST = tfl.SymbolicTensor;

function smallCnn(): tfl.LayersModel {
  const inp = tfl.input({ shape: [7, 7, 2], name: 'ex_img' });
  let x = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'ex_conv' }).apply(inp) as ST;
  x = tfl.layers.batchNormalization({ name: 'ex_bn' }).apply(x) as ST;
  x = tfl.layers.reLU({ name: 'ex_relu' }).apply(x) as ST;
  x = tfl.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'same', name: 'ex_dw' }).apply(x) as ST;
  x = tfl.layers.globalAveragePooling2d({ name: 'ex_gap' }).apply(x) as ST;
  x = tfl.layers.dense({ units: 3, activation: 'softmax', name: 'ex_fc' }).apply(x) as ST;
  return tfl.model({ inputs: inp, outputs: x });
}

describe('exportLayersModel', () => {
  it('trained weights round-trip into a model TF.js loads and that predicts what we predict', async () => {
    const model = smallCnn();
    randomizeWeights(model, 91, 0.4);
    const { modelJson, weightData } = await saveToMemory(model);
    const imported = importLayersModel(modelJson, weightData, { batchSize: 8 });
    const x = randomInput([8, 7, 7, 2], 92);
    const labels = randomLabels(8, 3, 93);
    const prog = compileTraining(imported.graph, { loss: { kind: 'cross-entropy', labelDtype: 'int32' }, trainable: imported.trainable, optimizer: { kind: 'adam', lr: 0.05 } }, new CpuBackend());
    const losses: number[] = [];
    for (let i = 0; i < 5; i++) losses.push(Number((await prog.step({ ex_img: x, labels })).loss!.data[0]));
    expect(losses.at(-1)!).toBeLessThan(losses[0]!);
    const trained = await prog.weights();
    // frozen BN: the moving statistics are buffers and come back unchanged
    const before = importLayersModel(modelJson, weightData).graph;
    const mm = before.values.find((v) => v.name === 'ex_bn/moving_mean')!;
    expect(Array.from(trained.get('ex_bn/moving_mean')!.data as Float32Array)).toEqual(Array.from(before.init.get(mm.id)!.data as Float32Array));

    const exported = exportLayersModel(modelJson, trained);
    expect(exported.modelJson.weightsManifest![0]!.weights.map((w) => w.name)).toEqual(modelJson.weightsManifest![0]!.weights.map((w) => w.name));
    const reloaded = await tfl.loadLayersModel(
      tf.io.fromMemory({ modelTopology: exported.modelJson.modelTopology as object, weightSpecs: exported.modelJson.weightsManifest![0]!.weights as tf.io.WeightsManifestEntry[], weightData: exported.weightData }),
    );
    const tfProbs = (reloaded.predict(toTf(x)) as tf.Tensor).dataSync();
    const { out } = await forward(importLayersModel(exported.modelJson, exported.weightData, { batchSize: 8 }).graph, { ex_img: x });
    expectClose(softmaxRows(out.logits!.data as Float32Array, 3), tfProbs, 'reloaded prediction');
    // and the trained weights differ from the originals (training happened)
    const w0 = model.getLayer('ex_conv').getWeights()[0]!.dataSync();
    const w1 = reloaded.getLayer('ex_conv').getWeights()[0]!.dataSync();
    expect(Array.from(w1)).not.toEqual(Array.from(w0));
    expect(Array.from(w1)).toEqual(Array.from(trained.get('ex_conv/kernel')!.data as Float32Array));
  });

  it('reports every weight it has no value for', async () => {
    const model = smallCnn();
    const { modelJson } = await saveToMemory(model);
    expect(() => exportLayersModel(modelJson, new Map())).toThrow(/no value for 10 weight\(s\).*ex_conv\/kernel/s);
  });

  it('node adapter: saveTfjsModel writes files that loadTfjsModel imports', async () => {
    const model = smallCnn();
    randomizeWeights(model, 94);
    const { modelJson, weightData } = await saveToMemory(model);
    const imported = importLayersModel(modelJson, weightData);
    const weights = new Map([...imported.graph.values].filter((v) => v.role === 'param' || v.role === 'buffer').map((v) => [v.name, imported.graph.init.get(v.id)!]));
    const dir = await mkdtemp(join(tmpdir(), 'pock-tfjs-'));
    const path = await saveTfjsModel(dir, exportLayersModel(modelJson, weights));
    expect(JSON.parse(await readFile(path, 'utf8')).format).toBe('layers-model');
    const loaded = await loadTfjsModel(path, { batchSize: 2 });
    const x = randomInput([2, 7, 7, 2], 95);
    const { out } = await forward(loaded.graph, { ex_img: x });
    const want = (model.predict(toTf(x)) as tf.Tensor).dataSync();
    expectClose(softmaxRows(out.logits!.data as Float32Array, 3), want, 'prediction from files');
  });
});
