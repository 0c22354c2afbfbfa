/**
 * The `pockengine` command, run in-process on the shared PyTorch references: the `grad`
 * contract (tensor names and values), `compile --json`, `plan` under a budget, `inspect`.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors, writeNpy } from '@pockengine/core';
import { describe, expect, it } from 'vitest';
import { captureOutput } from './capture.js';
import { main } from '../src/main.js';
import { compare, haveModels, loadRef, MODELS } from '../../frontend-onnx/test/refs.js';
import { buildModel, node } from '../../frontend-onnx/test/build.js';

const dir = mkdtempSync(join(tmpdir(), 'pockengine-cli-'));
const printed = captureOutput();

describe.runIf(haveModels)('pockengine CLI', () => {
  it.each([
    ['mcunet_tiny.onnx', 'mcunet_tiny.eval_bn.ref.safetensors', 'frozen'],
    ['mcunet_tiny.onnx', 'mcunet_tiny.train_bn.ref.safetensors', 'train'],
    ['bert_tiny.onnx', 'bert_tiny.ref.safetensors', 'frozen'],
  ])('grad %s (%s) writes loss and grad.<name> matching PyTorch', async (model, refFile, bn) => {
    const ref = loadRef(refFile);
    const args = ['grad', MODELS + model, '--bn', bn];
    for (const [name, t] of Object.entries(ref.inputs)) {
      const f = join(dir, `${refFile}.${name}.npy`);
      writeFileSync(f, writeNpy(t));
      args.push('--input', `${name}=${f}`);
    }
    const labels = join(dir, `${refFile}.labels.npy`);
    writeFileSync(labels, writeNpy(ref.tensors.get('labels')!));
    const out = join(dir, `${refFile}.grads.safetensors`);
    expect(await main([...args, '--labels', labels, '--out', out])).toBe(0);
    const got = readSafetensors(new Uint8Array(readFileSync(out))).tensors;
    const refGrads = [...ref.tensors.keys()].filter((k) => k.startsWith('grad.'));
    expect([...got.keys()].filter((k) => k.startsWith('grad.')).sort()).toEqual(refGrads.sort());
    for (const name of ['loss', ...refGrads]) expect(compare(name, got.get(name), ref).pass, name).toBe(true);
  });

  it('grad with a scheme writes only the trained parameters', async () => {
    const ref = loadRef('mcunet_tiny.eval_bn.ref.safetensors');
    const x = join(dir, 'x.npy');
    const y = join(dir, 'y.npy');
    writeFileSync(x, writeNpy(ref.inputs.input!));
    writeFileSync(y, writeNpy(ref.tensors.get('labels')!));
    const scheme = join(dir, 'scheme.json');
    writeFileSync(scheme, JSON.stringify({ rules: [{ params: 'classifier.*', update: 'full' }, { params: 'blocks.14.*', update: 'full' }] }));
    const out = join(dir, 'sparse.safetensors');
    expect(await main(['grad', MODELS + 'mcunet_tiny.onnx', '--input', `input=${x}`, '--labels', y, '--scheme', scheme, '--out', out])).toBe(0);
    const got = readSafetensors(new Uint8Array(readFileSync(out))).tensors;
    const names = [...got.keys()].filter((k) => k.startsWith('grad.'));
    expect(names.length).toBeGreaterThan(2);
    expect(names.every((n) => n.startsWith('grad.classifier.') || n.startsWith('grad.blocks.14.'))).toBe(true);
    for (const n of names) expect(compare(n, got.get(n), ref).pass, n).toBe(true);
  });

  it('compile --json reports the plan and the pruned backward ops', async () => {
    const scheme = join(dir, 'last.json');
    writeFileSync(scheme, JSON.stringify({ rules: [{ params: 'classifier.*', update: 'full' }, { params: 'blocks.1[34].*', update: 'full' }] }));
    expect(await main(['compile', MODELS + 'mcunet_tiny.onnx', '--shape', 'input=8x3x96x96', '--scheme', scheme, '--json'])).toBe(0);
    const sparse = JSON.parse(printed.text());
    printed.clear();
    expect(await main(['compile', MODELS + 'mcunet_tiny.onnx', '--shape', 'input=8x3x96x96', '--json'])).toBe(0);
    const full = JSON.parse(printed.text());
    expect(sparse.memory.peakBytes).toBeLessThan(full.memory.peakBytes);
    expect(sparse.prunedBackwardOps.conv2d_grad_weight).toBeGreaterThan(30);
    expect(Object.keys(sparse.memory.breakdown).sort()).toEqual(['gradients', 'inputs', 'optimizerState', 'parameters', 'savedActivations', 'workspace']);
  });

  it('plan picks a scheme within the budget', async () => {
    const out = join(dir, 'planned.json');
    expect(await main(['plan', MODELS + 'mcunet_tiny.onnx', '--shape', 'input=4x3x64x64', '--budget', '3MB', '--out', out, '--json'])).toBe(0);
    const r = JSON.parse(printed.text());
    expect(r.peakBytes).toBeLessThanOrEqual(3e6);
    expect(r.scheme.rules.length).toBeGreaterThan(0);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(r.scheme);
  });

  it('inspect lists every unsupported op at once', async () => {
    const bad = join(dir, 'bad.onnx');
    writeFileSync(
      bad,
      buildModel({
        inputs: [['x', 1, [2, 3]]],
        outputs: [['z', 1, [2, 3]]],
        nodes: [node('Det', ['x'], ['y'], {}, 'act'), node('NonMaxSuppression', ['y'], ['z'], {}, 'pick')],
      } as never),
    );
    expect(await main(['inspect', bad])).toBe(1);
    const text = printed.text();
    expect(text).toContain('Det');
    expect(text).toContain('NonMaxSuppression');
  });

  it('inspect summarises a model', async () => {
    expect(await main(['inspect', MODELS + 'bert_tiny.onnx', '--shape', 'input_ids=2x32', '--shape', 'attention_mask=2x32', '--json'])).toBe(0);
    const r = JSON.parse(printed.text());
    expect(r.parameters.count).toBe(108354);
    expect(r.flops.trainingStep).toBeGreaterThan(r.flops.forward);
    expect(r.outputs[0].shape).toEqual([2, 2]);
  });
});

