/**
 * Imports every <name>.onnx of a folder written by export.py, runs one training step on the CPU
 * reference kernels and compares loss, logits and every gradient named like a torch parameter with
 * PyTorch's (refs.ts tolerances). Prints one line per model; exits 1 if any failed.
 *
 *   npx tsx packages/frontend-onnx/test/zoo/compare.ts OUT_DIR [name ...]
 *
 * POCKENGINE_BN=train imports BatchNorm with batch statistics (for references made in train mode);
 * POCKENGINE_F64=1 runs the model in float64 (tells float32 rounding from a wrong graph).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CpuBackend } from '@pockengine/backend-cpu';
import { Program, compileTrainingGraph, readSafetensors, tensor } from '@pockengine/core';
import { importOnnx } from '../../src/index.js';
import { compare, refOf } from '../refs.js';

const [dir = '.', ...only] = process.argv.slice(2);
const f64 = !!process.env.POCKENGINE_F64;
const batchNorm = process.env.POCKENGINE_BN === 'train' ? 'train' : 'frozen';

async function check(name: string): Promise<boolean> {
  const { tensors } = readSafetensors(new Uint8Array(readFileSync(join(dir, `${name}.ref.safetensors`))));
  const ref = refOf(tensors);
  const input = tensors.get('input')!;
  const m = importOnnx(new Uint8Array(readFileSync(join(dir, `${name}.onnx`))), {
    inputShapes: { input: [...input.shape] },
    batchNorm,
    floatType: f64 ? 'float64' : 'float32',
    file: `${name}.onnx`,
  });
  const { graph } = compileTrainingGraph(m.graph, { loss: { kind: 'cross-entropy', labelDtype: 'int64' }, keepPrediction: 'logits' });
  const p = Program.create(graph, new CpuBackend());
  const x = f64 && input.dtype === 'float32' ? tensor('float64', input.shape, Float64Array.from(input.data as Float32Array)) : input;
  const out = await p.step({ input: x, labels: tensors.get('labels')! });
  p.dispose();
  const failed: string[] = [];
  const lc = compare('logits', out.logits, ref);
  if (!lc.pass) failed.push(`logits ${lc.relErr.toExponential(2)}`);
  let compared = 0;
  let total = 0;
  for (const k of tensors.keys()) {
    if (!k.startsWith('grad.')) continue;
    total++;
    if (!out[k]) continue; // folded by the exporter into a constant under another name
    compared++;
    const c = compare(k, out[k], ref);
    if (!c.pass) failed.push(`${k} ${c.relErr.toExponential(2)}`);
  }
  const dLoss = Math.abs(Number(out.loss!.data[0]) - Number(tensors.get('loss')!.data[0]));
  const ok = !failed.length && dLoss <= 1e-4;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}: |loss diff| ${dLoss.toExponential(1)}, gradients compared ${compared}/${total} ${failed.slice(0, 4).join('; ')}`);
  return ok;
}

let bad = 0;
for (const name of readdirSync(dir).filter((f) => f.endsWith('.onnx')).map((f) => f.slice(0, -5))) {
  if (only.length && !only.includes(name)) continue;
  try {
    if (!(await check(name))) bad++;
  } catch (e) {
    bad++;
    console.log(`ERR  ${name}: ${(e as Error).message.split('\n').slice(0, 4).join(' | ')}`);
  }
}
process.exit(bad ? 1 : 0);
