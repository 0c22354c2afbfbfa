/**
 * Image-folder datasets for `pockengine train`: one subfolder per class (sorted names are the
 * class ids), PNG or JPEG files inside, decoded with pure-JS decoders, resized bilinearly to the
 * model's resolution, scaled to [0, 1] (or ImageNet-normalized), in the model's layout.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { PockError, tensor, type Dataset } from '@pockengine/core';
import { resizeBilinear } from './resize.js';

export interface ImageSpec {
  input: string;
  layout: 'nchw' | 'nhwc';
  height: number;
  width: number;
  channels: 1 | 3;
  normalize: 'unit' | 'imagenet';
}

export function isImageFolder(dir: string): boolean {
  return readdirSync(dir).some((f) => statSync(join(dir, f)).isDirectory());
}

function decode(file: string): { width: number; height: number; data: Uint8Array } {
  const bytes = readFileSync(file);
  const ext = extname(file).toLowerCase();
  try {
    if (ext === '.png') {
      const p = PNG.sync.read(bytes);
      return { width: p.width, height: p.height, data: p.data };
    }
    const j = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true });
    return { width: j.width, height: j.height, data: j.data };
  } catch (e) {
    throw new PockError('input', `cannot decode image: ${(e as Error).message}`, { file });
  }
}

const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

export function loadImageFolder(dir: string, spec: ImageSpec): { data: Dataset; classes: string[] } {
  const classes = readdirSync(dir).filter((f) => statSync(join(dir, f)).isDirectory()).sort();
  const files: [string, number][] = [];
  classes.forEach((c, k) => {
    for (const f of readdirSync(join(dir, c)).sort()) if (/\.(png|jpe?g)$/i.test(f)) files.push([join(dir, c, f), k]);
  });
  if (files.length === 0) throw new PockError('input', `no .png / .jpg images in the class folders of '${dir}'`, { file: dir });
  const { height: H, width: W, channels: C } = spec;
  const x = new Float32Array(files.length * H * W * C);
  const y = new BigInt64Array(files.length);
  files.forEach(([file, label], n) => {
    const img = decode(file);
    const rgba = resizeBilinear(img.data, img.height, img.width, 4, H, W);
    for (let i = 0; i < H; i++)
      for (let j = 0; j < W; j++) {
        const px = (i * W + j) * 4;
        for (let c = 0; c < C; c++) {
          let v = (C === 1 ? (rgba[px]! + rgba[px + 1]! + rgba[px + 2]!) / 3 : rgba[px + c]!) / 255;
          if (spec.normalize === 'imagenet' && C === 3) v = (v - MEAN[c]!) / STD[c]!;
          x[spec.layout === 'nhwc' ? ((n * H + i) * W + j) * C + c : ((n * C + c) * H + i) * W + j] = v;
        }
      }
    y[n] = BigInt(label);
  });
  const shape = spec.layout === 'nhwc' ? [files.length, H, W, C] : [files.length, C, H, W];
  return { data: { inputs: { [spec.input]: tensor('float32', shape, x) }, labels: tensor('int64', [files.length], y) }, classes };
}
