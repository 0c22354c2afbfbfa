/** `pockengine train` on a folder of PNG images with a TF.js layers model written by TF.js itself. */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { PNG } from 'pngjs';
import { rng } from '@pockengine/core';
import { describe, expect, it } from 'vitest';
import { captureOutput } from './capture.js';
import { main } from '../src/main.js';

const dir = mkdtempSync(join(tmpdir(), 'pockengine-img-'));
const printed = captureOutput();

/** 24x24 PNGs of a red, green or blue square at a random place on a noisy background. */
function writeImages(root: string, perClass: number): void {
  const r = rng(5);
  ['blue', 'green', 'red'].forEach((name, k) => {
    mkdirSync(join(root, name), { recursive: true });
    for (let n = 0; n < perClass; n++) {
      const png = new PNG({ width: 24, height: 24 });
      const ox = Math.floor(r() * 12);
      const oy = Math.floor(r() * 12);
      for (let y = 0; y < 24; y++)
        for (let x = 0; x < 24; x++) {
          const i = (y * 24 + x) * 4;
          const inside = x >= ox && x < ox + 10 && y >= oy && y < oy + 10;
          for (let c = 0; c < 3; c++) png.data[i + c] = Math.floor(60 * r()) + (inside && c === 2 - k ? 180 : 0);
          png.data[i + 3] = 255;
        }
      writeFileSync(join(root, name, `${n}.png`), PNG.sync.write(png));
    }
  });
}

describe('pockengine train on an image folder', () => {
  it('fine-tunes a TF.js layers model and writes it back as model.json', async () => {
    await tf.setBackend('cpu');
    const m = tfl.sequential({
      layers: [
        tfl.layers.conv2d({ inputShape: [16, 16, 3], filters: 4, kernelSize: 3, activation: 'relu', padding: 'same' }),
        tfl.layers.globalAveragePooling2d({}),
        tfl.layers.dense({ units: 3, activation: 'softmax' }),
      ],
    });
    const modelDir = join(dir, 'model');
    mkdirSync(modelDir, { recursive: true });
    await m.save(
      tf.io.withSaveHandler(async (art) => {
        writeFileSync(join(modelDir, 'weights.bin'), new Uint8Array(art.weightData as ArrayBuffer));
        writeFileSync(join(modelDir, 'model.json'), JSON.stringify({ modelTopology: art.modelTopology, format: 'layers-model', weightsManifest: [{ paths: ['weights.bin'], weights: art.weightSpecs }] }));
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    const images = join(dir, 'images');
    writeImages(images, 20);
    const out = join(dir, 'tuned');
    const code = await main(['train', join(modelDir, 'model.json'), '--data', images, '--epochs', '30', '--batch', '8', '--optimizer', 'adam', '--lr', '0.05', '--val', '0.25', '--out', out]);
    expect(code).toBe(0);
    const text = printed.text();
    expect(text).toContain('images: 60 in 3 classes (blue, green, red), 16x16 nhwc');
    const acc = (label: string) => Number(new RegExp(`${label}:\\s+([\\d.]+)% accuracy`).exec(text)![1]);
    expect(acc('held-out after')).toBeGreaterThan(acc('held-out before'));
    expect(existsSync(join(out, 'model.json'))).toBe(true);
    // TF.js reads the tuned model back and runs it
    const json = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
    const shard = readFileSync(join(out, json.weightsManifest[0].paths[0]));
    const back = await tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData: new Uint8Array(shard).buffer }));
    const p = (back.predict(tf.zeros([2, 16, 16, 3])) as tf.Tensor).shape;
    expect(p).toEqual([2, 3]);
  });
});
