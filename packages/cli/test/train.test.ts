/** `pockengine train` end to end: a jax-js module and an ONNX model fine-tune through the CLI. */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSafetensors, rng, tensor, writeNpy } from '@pockengine/core';
import { describe, expect, it } from 'vitest';
import { captureOutput } from './capture.js';
import { main } from '../src/main.js';

const dir = mkdtempSync(join(tmpdir(), 'pockengine-train-'));
const fixture = fileURLToPath(new URL('./fixtures/jax-mlp.mjs', import.meta.url));
const printed = captureOutput();

/** Three Gaussian blobs in 2-D. */
function blobs(folder: string, n: number): void {
  const r = rng(3);
  const c = [[2, 0], [-1, 1.7], [-1, -1.7]];
  const x = new Float32Array(n * 2);
  const y = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    x[2 * i] = c[i % 3]![0]! + (r() - 0.5);
    x[2 * i + 1] = c[i % 3]![1]! + (r() - 0.5);
    y[i] = BigInt(i % 3);
  }
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'x.npy'), writeNpy(tensor('float32', [n, 2], x)));
  writeFileSync(join(folder, 'labels.npy'), writeNpy(tensor('int64', [n], y)));
}

describe('pockengine train', () => {
  it('fine-tunes a jax-js module with a sparse scheme and writes its weights by pytree path', async () => {
    const data = join(dir, 'blobs');
    blobs(data, 120);
    const scheme = join(dir, 'scheme.json');
    writeFileSync(scheme, JSON.stringify({ rules: [{ params: 'out.*', update: 'full' }, { params: 'hidden.b', update: 'full' }] }));
    const out = join(dir, 'tuned');
    const code = await main(['train', fixture, '--data', data, '--scheme', scheme, '--epochs', '15', '--batch', '8', '--lr', '0.1', '--out', out]);
    expect(code).toBe(0);
    const text = printed.text();
    const acc = (label: string) => Number(new RegExp(`${label}:\\s+([\\d.]+)% accuracy`).exec(text)![1]);
    expect(acc('held-out after')).toBeGreaterThan(acc('held-out before'));
    expect(acc('held-out after')).toBeGreaterThanOrEqual(90);
    const st = readSafetensors(new Uint8Array(readFileSync(join(out, 'jax-mlp.tuned.safetensors')))).tensors;
    expect([...st.keys()].sort()).toEqual(['hidden.b', 'hidden.w', 'out.b', 'out.w']);
    expect(existsSync(join(out, 'loss.svg'))).toBe(true);
    expect(text).toMatch(/peak memory: planned .* measured/);
  });
});
