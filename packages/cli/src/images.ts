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
    for (let i = 0; i < H; i++) {
      const fy = Math.min(Math.max(((i + 0.5) * img.height) / H - 0.5, 0), img.height - 1);
      const y0 = Math.floor(fy);
      const y1 = Math.min(y0 + 1, img.height - 1);
      const wy = fy - y0;
      for (let j = 0; j < W; j++) {
        const fx = Math.min(Math.max(((j + 0.5) * img.width) / W - 0.5, 0), img.width - 1);
        const x0 = Math.floor(fx);
        const x1 = Math.min(x0 + 1, img.width - 1);
        const wx = fx - x0;
        const px = (yy: number, xx: number, c: number) => img.data[(yy * img.width + xx) * 4 + c]!;
        for (let c = 0; c < C; c++) {
          const src = (ch: number) =>
            ((1 - wy) * ((1 - wx) * px(y0, x0, ch) + wx * px(y0, x1, ch)) + wy * ((1 - wx) * px(y1, x0, ch) + wx * px(y1, x1, ch))) / 255;
          let v = C === 1 ? (src(0) + src(1) + src(2)) / 3 : src(c);
          if (spec.normalize === 'imagenet' && C === 3) v = (v - MEAN[c]!) / STD[c]!;
          const o = spec.layout === 'nhwc' ? ((n * H + i) * W + j) * C + c : ((n * C + c) * H + i) * W + j;
          x[o] = v;
        }
      }
    }
    y[n] = BigInt(label);
  });
  const shape = spec.layout === 'nhwc' ? [files.length, H, W, C] : [files.length, C, H, W];
  return { data: { inputs: { [spec.input]: tensor('float32', shape, x) }, labels: tensor('int64', [files.length], y) }, classes };
}
